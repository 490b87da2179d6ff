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

# Ctrl-C on the server during traffic: every connection gets 1001, and no echo is lost.
"$bin/server" "${args[@]}" --addr 127.0.0.1:0 >"$work/drain-server.out" 2>"$work/drain-server.err" &
drainer=$!
for _ in $(seq 100); do [ -s "$work/drain-server.out" ] && break; sleep 0.05; done
drain_url=$(awk 'NR == 1 { print $2 }' "$work/drain-server.out")
timeout 20 "$bin/client" "${args[@]}" --url "$drain_url" --interval 20ms --no-reconnect >"$work/drain-client.out" 2>&1 &
drain_client=$!
for _ in $(seq 200); do grep -q '#5,' "$work/drain-client.out" 2>/dev/null && break; sleep 0.05; done
kill -INT "$drainer"
wait "$drainer"
check "the server drains and exits 0 on Ctrl-C" test $? -eq 0
wait "$drain_client"
check "the client exits 0 after the server's 1001" test $? -eq 0
check "the client was told 1001 going away" grep -qx 'server closed: 1001 going away' "$work/drain-client.out"
check "the server reports the connection closed cleanly" \
  grep -q 'shut down: 1 connections served, 1 closed cleanly at the shutdown, 0 dropped' "$work/drain-server.err"
taken=$(grep -o 'messages_in: [0-9]*' "$work/drain-server.err" | tail -1 | grep -o '[0-9]*$')
given=$(grep -o 'messages_out: [0-9]*' "$work/drain-server.err" | tail -1 | grep -o '[0-9]*$')
echoed=$(sed -n 's/^sent [0-9]*, echoed \([0-9]*\),.*/\1/p' "$work/drain-client.out")
check "every message the server took was echoed and arrived ($taken, $given, $echoed)" \
  test -n "$taken" -a "$taken" = "$given" -a "$given" = "$echoed"

has() { [[ ",$features," == *",$1,"* ]]; }
start_app() { # start_app NAME ARGS...: runs an embedding example, waits for its first line
  local name=$1; shift
  "$bin/$name" "$@" >"$work/$name.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/$name.out" ] && break; sleep 0.05; done
}
pids=()
trap 'kill "$server" "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
if has smol; then
  start_app embed_smol 127.0.0.1:0
  app_url=$(awk 'NR == 1 { print $2 }' "$work/embed_smol.out")
  timeout 20 "$bin/client" --url "$app_url" --interval 50ms --count 3 >"$work/embed_smol.client" 2>&1
  check "embed_smol echoes for the client" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/embed_smol.client"
fi
if has smol; then
  # The load generator: a short run per mode, every echo checked, no errors.
  for mode in pingpong pipelined handshakes; do
    "$bin/loadgen" --url "$url" --mode "$mode" --conns 4 --duration 300ms --json >"$work/load-$mode.json" 2>&1
    check "loadgen $mode runs without errors" grep -Eq '"errors":0,' "$work/load-$mode.json"
    check "loadgen $mode counts echoes" grep -Eq '"msgs_per_s":[1-9]' "$work/load-$mode.json"
  done
fi
if has tokio; then
  start_app embed_hyper 127.0.0.1:0
  app_addr=$(sed -n 's|^serving http://\([^/]*\)/health.*|\1|p' "$work/embed_hyper.out")
  check "embed_hyper answers /health itself" test "$(curl -s "http://$app_addr/health")" = ok
  check "embed_hyper answers 404 elsewhere" test "$(curl -s -o /dev/null -w '%{http_code}' "http://$app_addr/nope")" = 404
  timeout 20 "$bin/client" --url "ws://$app_addr/ws" --interval 50ms --count 3 >"$work/embed_hyper.client" 2>&1
  check "embed_hyper upgrades /ws to ws-echo" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/embed_hyper.client"
  check "embed_hyper answers a missing key with ws-echo's 400" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
      -H 'Sec-WebSocket-Version: 13' "http://$app_addr/ws")" = 400

  start_app embed_tokio 127.0.0.1:0
  app_url=$(awk 'NR == 1 { print $2 }' "$work/embed_tokio.out")
  timeout 20 "$bin/client" --url "$app_url" --interval 50ms --count 3 >"$work/embed_tokio.client" 2>&1
  check "embed_tokio echoes for the client" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/embed_tokio.client"

  # embed_axum: its own route, and /ws answered exactly as ws-echo's own listener answers.
  start_app embed_axum 127.0.0.1:0 http://allowed.example
  axum_addr=$(sed -n 's|^serving http://\([^/]*\)/ and.*|\1|p' "$work/embed_axum.out")
  check "embed_axum serves its own route" test "$(curl -s "http://$axum_addr/")" = "the application's own page"
  timeout 20 "$bin/client" --url "ws://$axum_addr/ws" --origin http://allowed.example --interval 50ms --count 3 \
    >"$work/embed_axum.client" 2>&1
  check "embed_axum hands /ws to ws-echo" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/embed_axum.client"
  "$bin/server" "${args[@]}" --addr 127.0.0.1:0 --allow-origin http://allowed.example >"$work/own.out" 2>"$work/own.err" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/own.out" ] && break; sleep 0.05; done
  own_addr=$(sed -n 's|^serving ws://\([^/]*\)/ws.*|\1|p' "$work/own.out")
  upgrade_headers=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
  for case in "version 8:Sec-WebSocket-Version: 8" "a refused origin:Origin: http://elsewhere.example" \
              "no origin:X-Nothing: 1"; do
    name=${case%%:*} extra=${case#*:}
    version=(-H 'Sec-WebSocket-Version: 13')
    [[ $extra == Sec-WebSocket-Version* ]] && version=()
    # The body (ws-echo's reason) and the status, from each.
    via_axum=$(curl -s -m 5 -w ' %{http_code}' "${upgrade_headers[@]}" "${version[@]}" -H "$extra" "http://$axum_addr/ws")
    via_own=$(curl -s -m 5 -w ' %{http_code}' "${upgrade_headers[@]}" "${version[@]}" -H "$extra" "http://$own_addr/ws")
    check "embed_axum answers $name as ws-echo's own listener does: $(echo $via_own)" \
      test "$via_axum" = "$via_own" -a "${via_own: -3}" != 101 -a "${via_own: -3}" != 000
  done
fi

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
