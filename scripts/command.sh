# The `ws-echo` command (feature cli): Go's `--addr :PORT`, configuration from the
# environment, bad values named by their variable. Sourced by scripts/examples.sh when its
# FEATURES have cli (it uses $work, $bin, $pids, check and free_port from there).

command=target/debug/ws-echo
start_command() { # start_command NAME ENV... -- ARGS...: the command with ENV and ARGS, first line awaited
  local name=$1; shift
  local env=()
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  env "${env[@]}" "$command" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  command_pid=$!
  for _ in $(seq 100); do [ -s "$work/$name.out" ] && break; sleep 0.05; done
}
echoes_three() { # echoes_three URL: the client gets three echoes from URL
  timeout 20 "$bin/client" --url "$1" --interval 50ms --count 3 2>&1 |
    grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0'
}

port=$(free_port)
start_command colon -- --addr ":$port"
check "ws-echo --addr :$port listens on [::]:$port" grep -q "^serving ws://\[::\]:$port/ws " "$work/colon.out"
check "ws-echo --addr :$port echoes on 127.0.0.1" echoes_three "ws://127.0.0.1:$port/ws"
check "ws-echo --addr :$port echoes on ::1" echoes_three "ws://[::1]:$port/ws"
kill "$command_pid"

port=$(free_port)
start_command port PORT="$port" -- --no-metrics
check "PORT=$port alone listens on [::]:$port" grep -q "^serving ws://\[::\]:$port/ws " "$work/port.out"
check "PORT=$port echoes on 127.0.0.1" echoes_three "ws://127.0.0.1:$port/ws"
kill "$command_pid"

port=$(free_port)
start_command env_addr WS_ECHO_ADDR="127.0.0.1:$port" WS_ECHO_PATH=/echo PORT=1 --
check "WS_ECHO_ADDR and WS_ECHO_PATH are the flags (PORT left aside)" \
  grep -q "^serving ws://127\.0\.0\.1:$port/echo " "$work/env_addr.out"
check "the path from WS_ECHO_PATH echoes" echoes_three "ws://127.0.0.1:$port/echo"
kill "$command_pid"

start_command flag_wins WS_ECHO_ADDR=127.0.0.1:1 -- --addr 127.0.0.1:0
check "a flag on the command line wins over its variable" \
  grep -Eq '^serving ws://127\.0\.0\.1:[0-9]{2,}/ws ' "$work/flag_wins.out"
kill "$command_pid"

refused() { # refused EXPECTED ENV...: the command exits 2 with EXPECTED as its one line
  # No --addr (it would set PORT aside); bounded, should it serve instead.
  env "${@:2}" timeout 10 "$command" >"$work/refused.out" 2>"$work/refused.err"
  local code=$?
  [ "$code" -eq 2 ] && [ "$(cat "$work/refused.err")" = "$1" ] && [ ! -s "$work/refused.out" ]
}
check "a bad value from the environment: exit 2, one line naming the variable" \
  refused "Error parsing WS_ECHO_MAX_CONNECTIONS with value '0': \"0\": must be at least 1" \
  WS_ECHO_MAX_CONNECTIONS=0
check "...and the same line as from the flag, with the flag named" \
  test "$("$command" --max-connections 0 2>&1 >/dev/null | head -1)" = \
  "Error parsing option '--max-connections' with value '0': \"0\": must be at least 1"
check "an unknown WS_ECHO_ variable is refused, named" \
  refused "Unrecognized variable: WS_ECHO_MAX_CONECTIONS (--help lists them)" WS_ECHO_MAX_CONECTIONS=5
check "a bad PORT is refused, named" \
  refused "Error parsing PORT with value 'http': invalid digit found in string" PORT=http
"$command" --help >"$work/help.out" 2>&1
check "--help lists the variables" grep -q '^  WS_ECHO_ADDR  WS_ECHO_PATH  WS_ECHO_ALLOW_ORIGIN$' "$work/help.out"
check "--help says how PORT is taken" grep -q '^  PORT (alone: --addr :PORT)$' "$work/help.out"

# A standard output nobody reads is no reason to panic: `--help | head -1` closes it early, a
# supervisor may give the server a pipe it stops reading. Here a pipe whose reader is gone
# before the command starts, so that every write to it fails (EPIPE).
closed_out() { # closed_out COMMAND...: COMMAND with standard output such a pipe
  # exec: in the background, $! is then the command itself, for kill.
  exec python3 -c 'import os, sys; r, w = os.pipe(); os.close(r); os.dup2(w, 1); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
(closed_out "$command" --help) 2>"$work/help-closed.err" # a subshell: closed_out execs
check "--help into a closed pipe: exit 0, no panic" test "$?" -eq 0 -a ! -s "$work/help-closed.err"
port=$(free_port)
closed_out "$command" --addr "127.0.0.1:$port" 2>"$work/closed.err" &
pids+=($!)
closed_pid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
check "its startup lines into a closed pipe: the server serves all the same" echoes_three "ws://127.0.0.1:$port/ws"
check "...with no panic" bash -c "! grep -q panicked '$work/closed.err'"
kill "$closed_pid"
