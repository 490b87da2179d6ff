//! README.md, the front door: short, and its code the examples' own, verbatim. Each Rust block
//! follows a line `<!-- PATH -->` naming the example it is taken from (`examples/NAME.rs`, or
//! `frameworks/examples/NAME.rs`); the suite's scripts build every example, so the README's
//! code compiles as written.

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("README.md"),
    )
    .expect("README.md is readable")
}

#[test]
fn the_readme_reads_in_five_minutes() {
    let size = readme().len();
    assert!(size <= 8192, "README.md is {size} bytes, over 8 KiB");
}

#[test]
fn every_rust_block_of_the_readme_is_an_example_verbatim() {
    let readme = readme();
    let mut blocks = 0;
    let mut lines = readme.lines().peekable();
    let mut source: Option<String> = None;
    while let Some(line) = lines.next() {
        if let Some(name) = line
            .strip_prefix("<!-- ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        {
            source = Some(name.to_owned());
            continue;
        }
        if line != "```rust" {
            continue;
        }
        let name = source
            .take()
            .unwrap_or_else(|| panic!("a rust block without its source line before it"));
        let mut code = String::new();
        for line in lines.by_ref().take_while(|line| *line != "```") {
            code.push_str(line);
            code.push('\n');
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&name);
        let file = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            file.contains(&code),
            "README's block from {name} is not in it verbatim:\n{code}"
        );
        blocks += 1;
    }
    assert_eq!(blocks, 3, "the smol, tokio and axum embeddings");
}
