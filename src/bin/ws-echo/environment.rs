//! Flags from the environment, by one rule: `--some-flag VALUE` may come as
//! `WS_ECHO_SOME_FLAG=VALUE`, a switch as `WS_ECHO_SOME_SWITCH=1` (or `0`), a flag that repeats
//! as a comma-separated list; a flag on the command line wins over its variable. `PORT=8080`
//! alone (as platforms set it) is `--addr :8080` when neither gives an address. The flags are
//! read from the command's own usage line, so that every new flag has its variable.

use std::ffi::OsString;

use argh::{EarlyExit, TopLevelCommand};

/// What every variable's name starts with.
pub const PREFIX: &str = "WS_ECHO_";

/// The command's flags (`--help`), with the environment's variables listed after them; bad
/// usage, from a flag or a variable, prints one line and exits 2.
pub fn parse<T: TopLevelCommand>() -> T {
    let mut argv = std::env::args_os();
    let command = crate::flags::command_name(argv.next());
    let given = argv
        .map(|arg| arg.into_string())
        .collect::<Result<Vec<String>, OsString>>();
    let line = given
        .map_err(|arg| format!("{arg:?}: not valid UTF-8"))
        .and_then(|cli| command_line::<T>(&command, &cli, std::env::vars_os()));
    match line {
        Ok(args) => crate::flags::parse_from(&command, &args, &listing::<T>(&command)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}

/// One of the command's flags.
struct Flag {
    /// Without the leading `--`.
    name: String,
    takes: Takes,
}

enum Takes {
    Nothing,
    One,
    Several,
}

/// The command's flags, from its usage line: `[--addr <addr>]`, `[--protocol <protocol...>]`,
/// `[--reuse-port]`.
fn flags<T: TopLevelCommand>(command: &str) -> Vec<Flag> {
    let help = match T::from_args(&[command], &["--help"]) {
        Err(EarlyExit { output, .. }) => output,
        Ok(_) => String::new(),
    };
    let usage = help.lines().next().unwrap_or_default();
    let flag = |part: &str| {
        let mut words = part.split(']').next()?.split_whitespace();
        let name = words.next()?.strip_prefix("--")?.to_owned();
        let takes = match words.next() {
            None => Takes::Nothing,
            Some(value) if value.ends_with("...>") => Takes::Several,
            Some(_) => Takes::One,
        };
        Some(Flag { name, takes })
    };
    usage.split('[').skip(1).filter_map(flag).collect()
}

/// The variable of the flag `--name`.
fn variable(name: &str) -> String {
    format!("{PREFIX}{}", name.to_uppercase().replace('-', "_"))
}

/// The command line that `vars` and `cli` give together: the variables' flags first, those the
/// command line gives left out; an unknown `WS_ECHO_` variable or a bad value names the
/// variable.
fn command_line<T: TopLevelCommand>(
    command: &str,
    cli: &[String],
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Vec<String>, String> {
    let flags = flags::<T>(command);
    let given = |name: &str| cli.iter().any(|arg| arg == &format!("--{name}"));
    let mut ours = Vec::new();
    for (key, value) in vars {
        let Some(key) = key
            .to_str()
            .filter(|k| k.starts_with(PREFIX) || *k == "PORT")
        else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| format!("Error parsing {key}: not valid UTF-8"))?;
        ours.push((key.to_owned(), value));
    }
    ours.sort();
    let mut args = Vec::new();
    let mut port = None;
    for (key, value) in ours {
        if key == "PORT" {
            port = Some(value);
            continue;
        }
        let Some(flag) = flags.iter().find(|flag| variable(&flag.name) == key) else {
            return Err(format!("Unrecognized variable: {key} (--help lists them)"));
        };
        if given(&flag.name) {
            continue;
        }
        let these = flag_args(flag, &key, &value)?;
        check::<T>(command, &flag.name, &key, &these)?;
        args.extend(these);
    }
    let addressed = given("addr") || args.iter().any(|arg| arg == "--addr");
    if let Some(port) = port.filter(|_| !addressed) {
        let number = (port.parse::<u16>())
            .map_err(|e| format!("Error parsing PORT with value '{port}': {e}"))?;
        args.extend(["--addr".to_owned(), format!(":{number}")]);
    }
    args.extend(cli.iter().cloned());
    Ok(args)
}

/// What `key=value` stands for on the command line.
fn flag_args(flag: &Flag, key: &str, value: &str) -> Result<Vec<String>, String> {
    let dashed = format!("--{}", flag.name);
    Ok(match flag.takes {
        Takes::Nothing => match value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => vec![dashed],
            "0" | "false" | "no" | "off" | "" => Vec::new(),
            _ => {
                let wrong = format!("Error parsing {key} with value '{value}'");
                return Err(format!("{wrong}: a switch is 1 or 0 (true or false)"));
            }
        },
        Takes::One => vec![dashed, value.to_owned()],
        Takes::Several => (value.split(',').map(str::trim))
            .filter(|one| !one.is_empty())
            .flat_map(|one| [dashed.clone(), one.to_owned()])
            .collect(),
    })
}

/// The error a flag's value would get, with the variable named instead of the flag.
fn check<T: TopLevelCommand>(
    command: &str,
    name: &str,
    key: &str,
    args: &[String],
) -> Result<(), String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match T::from_args(&[command], &args) {
        Ok(_) => Ok(()),
        Err(EarlyExit { output, .. }) => {
            let line = output.lines().next().unwrap_or_default().trim();
            Err(line.replace(&format!("option '--{name}'"), key))
        }
    }
}

/// The variables, for `--help`.
fn listing<T: TopLevelCommand>(command: &str) -> String {
    let names: Vec<String> = flags::<T>(command)
        .iter()
        .map(|flag| variable(&flag.name))
        .collect();
    let mut text = String::from("\nEnvironment (a flag on the command line wins):\n");
    for row in names.chunks(3) {
        text.push_str(&format!("  {}\n", row.join("  ")));
    }
    text.push_str("  PORT (alone: --addr :PORT)\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use argh::FromArgs;

    /// A few flags of each kind (parsed, never read: the command line is what is tested).
    #[derive(FromArgs)]
    #[allow(dead_code)]
    struct Flags {
        /// an address
        #[argh(option, default = "String::new()")]
        addr: String,
        /// a count above 0
        #[argh(option, default = "1", from_str_fn(crate::flags::positive_count))]
        max_connections: usize,
        /// a switch
        #[argh(switch)]
        reuse_port: bool,
        /// a flag that repeats
        #[argh(option)]
        allow_origin: Vec<String>,
    }

    fn line(cli: &[&str], vars: &[(&str, &str)]) -> Result<Vec<String>, String> {
        let cli: Vec<String> = cli.iter().map(|arg| arg.to_string()).collect();
        let vars = vars
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        command_line::<Flags>("ws-echo", &cli, vars)
    }

    fn ok(cli: &[&str], vars: &[(&str, &str)]) -> Vec<String> {
        line(cli, vars).unwrap_or_else(|e| panic!("refused: {e}"))
    }

    #[test]
    fn every_kind_of_flag_comes_from_its_variable() {
        let vars = [
            ("WS_ECHO_MAX_CONNECTIONS", "5"),
            ("WS_ECHO_REUSE_PORT", "1"),
            (
                "WS_ECHO_ALLOW_ORIGIN",
                "https://a.example, https://b.example",
            ),
            ("HOME", "/root"),
        ];
        let expected = "--allow-origin https://a.example --allow-origin https://b.example \
                        --max-connections 5 --reuse-port";
        assert_eq!(ok(&[], &vars).join(" "), expected);
        assert_eq!(
            ok(&[], &[("WS_ECHO_REUSE_PORT", "0")]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_flag_on_the_command_line_wins() {
        let vars = [("WS_ECHO_MAX_CONNECTIONS", "5"), ("WS_ECHO_ADDR", ":1")];
        assert_eq!(
            ok(&["--max-connections", "7"], &vars),
            ["--addr", ":1", "--max-connections", "7"]
        );
    }

    #[test]
    fn port_alone_is_an_address_on_every_interface() {
        assert_eq!(ok(&[], &[("PORT", "9000")]), ["--addr", ":9000"]);
        let both = [("PORT", "9000"), ("WS_ECHO_ADDR", "127.0.0.1:1")];
        assert_eq!(ok(&[], &both), ["--addr", "127.0.0.1:1"]);
        let flag = ["--addr", "[::1]:2"];
        assert_eq!(ok(&flag, &[("PORT", "9000")]), flag);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = |vars: &[(&str, &str)]| line(&[], vars).err().unwrap_or_default();
        assert_eq!(
            error(&[("WS_ECHO_MAX_CONNECTIONS", "0")]),
            "Error parsing WS_ECHO_MAX_CONNECTIONS with value '0': \"0\": must be at least 1"
        );
        assert_eq!(
            error(&[("WS_ECHO_REUSE_PORT", "maybe")]),
            "Error parsing WS_ECHO_REUSE_PORT with value 'maybe': a switch is 1 or 0 (true or false)"
        );
        assert_eq!(
            error(&[("PORT", "http")]),
            "Error parsing PORT with value 'http': invalid digit found in string"
        );
        assert_eq!(
            error(&[("WS_ECHO_MAX_CONECTIONS", "5")]),
            "Unrecognized variable: WS_ECHO_MAX_CONECTIONS (--help lists them)"
        );
    }

    #[test]
    fn help_lists_a_variable_for_every_flag_of_the_command() {
        let listing = listing::<crate::args::Args>("ws-echo");
        let flags = flags::<crate::args::Args>("ws-echo");
        // Every field of Args, from --addr to --threads (a new flag: one more).
        assert_eq!(flags.len(), 29);
        assert_eq!(
            (flags[0].name.as_str(), flags[28].name.as_str()),
            ("addr", "threads")
        );
        for flag in flags {
            assert!(listing.contains(&variable(&flag.name)), "{}", flag.name);
        }
        assert!(listing.contains("  WS_ECHO_ADDR  WS_ECHO_PATH  WS_ECHO_ALLOW_ORIGIN\n"));
    }
}
