#!/usr/bin/env bash
# End-to-end checks of the two examples as a user runs them, under one runtime feature:
# the server prints its URL, the client gets its echoes, Ctrl-C prints a summary and exits 0,
# and each kind of failure is one line and exit 1.
# Usage: examples.sh FEATURES [ARGS...]: ARGS go to both examples (e.g. --runtime async-std).
set -u
cd "$(dirname "$0")/.."
features=${1:?usage: examples.sh FEATURES [ARGS...]}
shift
args=("$@")
echo "== examples with --features $features ${args[*]}"
cargo build -q --features "$features" --examples || exit 1
bin=target/debug/examples
work=$(mktemp -d)
passed=0 failed=0
check() { # check NAME COMMAND...: counts and reports one check
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

"$bin/server" "${args[@]}" --addr 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/server.out" ] && break; sleep 0.05; done
url=$(awk 'NR == 1 { print $2 }' "$work/server.out")
check "the server prints its ws:// URL" grep -Eq '^serving ws://127\.0\.0\.1:[0-9]+/ws \(' "$work/server.out"

timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 50ms --count 3 >"$work/count.out" 2>&1
check "--count 3 exits 0" test $? -eq 0
check "--count 3 prints three echoes with their round-trip times" \
  test "$(grep -Ec '^received: Hello World \(#[123], rtt [0-9.]+ ms\)$' "$work/count.out")" -eq 3
check "--count 3 prints the summary" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/count.out"
check "the server logged each message" \
  test "$(grep -c 'received from client: Hello World' "$work/server.err")" -eq 3
check "the server logged the connection with its addresses" \
  grep -Eq '#1 new connection 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+' "$work/server.err"

timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 50ms --message 'ping me' >"$work/int.out" 2>&1 &
client=$!
for _ in $(seq 200); do grep -q '#2,' "$work/int.out" 2>/dev/null && break; sleep 0.05; done
kill -INT "$client"
wait "$client"
check "Ctrl-C exits 0" test $? -eq 0
check "Ctrl-C prints a summary with nothing missing" \
  grep -Eqx 'sent ([0-9]+), echoed \1, missing 0, resent 0, reconnects 0' "$work/int.out"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for case in "refused:--addr 127.0.0.1:$port" "bad-url:--url http://example/" "http-404:--url ${url%/ws}/nope"; do
  name=${case%%:*}
  # shellcheck disable=SC2086
  timeout 20 "$bin/client" "${args[@]}" ${case#*:} >"$work/$name.out" 2>"$work/$name.err"
  check "$name exits 1" test $? -eq 1
  check "$name prints one line" test "$(wc -l <"$work/$name.err")" -eq 1
  check "$name prints no panic" test "$(grep -c panicked "$work/$name.err")" -eq 0
done
check "HTTP 404 is named" grep -q 'the server answered HTTP 404 instead of upgrading' "$work/http-404.err"

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
