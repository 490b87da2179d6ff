#!/usr/bin/env bash
# End-to-end checks of the examples as a user runs them, under one runtime feature:
# the server prints its URL, the client gets its echoes, Ctrl-C prints a summary and exits 0,
# and each kind of failure is one line and exit 1.
# Usage: examples.sh FEATURES [ARGS...]: ARGS go to both examples (e.g. --runtime async-std).
set -u
cd "$(dirname "$0")/.."
features=${1:?usage: examples.sh FEATURES [ARGS...]}
shift
args=("$@")
echo "== examples with --features $features ${args[*]}"
# The default features off: the build is only what FEATURES names (cli builds the command).
cargo build -q --no-default-features --features "test-target,$features" --examples --bins || exit 1
bin=target/debug/examples
work=$(mktemp -d)
. scripts/lib.sh # check, free_port, wait_line

RUST_LOG=debug "$bin/server" "${args[@]}" --addr 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/server.out" ] && break; sleep 0.05; done
url=$(awk 'NR == 1 { print $2 }' "$work/server.out")
check "the server prints its ws:// URL" grep -Eq '^serving ws://127\.0\.0\.1:[0-9]+/ws \(' "$work/server.out"
cores=$(nproc)
check "the server runs one executor thread per core ($cores)" \
  grep -Eq "^serving ws://.* \((smol|async-std|tokio), $cores threads?\)$" "$work/server.out"

timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 50ms --count 3 >"$work/count.out" 2>&1
check "--count 3 exits 0" test $? -eq 0
check "--count 3 prints three echoes with their round-trip times" \
  test "$(grep -Ec '^received: Hello World \(#[123], rtt [0-9.]+ ms\)$' "$work/count.out")" -eq 3
check "--count 3 prints the summary" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/count.out"
check "the server logged each message (RUST_LOG=debug)" \
  test "$(grep -c 'received from client: Hello World' "$work/server.err")" -eq 3
long=$(printf 'x%.0s' $(seq 200))
timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 50ms --count 1 --message "$long" >/dev/null 2>&1
for _ in $(seq 100); do grep -q '(200 characters)' "$work/server.err" && break; sleep 0.05; done
check "a long message is logged as a preview" \
  grep -q "received from client: $(printf 'x%.0s' $(seq 80))\.\.\. (200 characters)$" "$work/server.err"
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

port=$(free_port)
for case in "refused:1:--addr 127.0.0.1:$port --fail-fast" "bad-url:2:--url http://example/" \
            "port-out-of-range:2:--url ws://127.0.0.1:99999/ws" "http-404:1:--url ${url%/ws}/nope"; do
  name=${case%%:*} rest=${case#*:}
  expected=${rest%%:*}
  # shellcheck disable=SC2086
  timeout 20 "$bin/client" "${args[@]}" ${rest#*:} >"$work/$name.out" 2>"$work/$name.err"
  check "$name exits $expected" test $? -eq "$expected"
  check "$name prints one line" test "$(wc -l <"$work/$name.err")" -eq 1
  check "$name prints no panic" test "$(grep -c panicked "$work/$name.err")" -eq 0
done
check "HTTP 404 is named" grep -q 'the server answered HTTP 404 instead of upgrading' "$work/http-404.err"
check "the port out of range is named" grep -q 'port 99999 is out of range (1 to 65535)' "$work/port-out-of-range.err"
check "the server prints its page's URL" grep -Eq '^a page to try it: http://127\.0\.0\.1:[0-9]+/$' "$work/server.out"
check "the server prints its health URL" grep -Eq '^health: http://127\.0\.0\.1:[0-9]+/health$' "$work/server.out"
http_of() { local rest=${1#ws://}; echo "http://${rest%/ws}"; } # ws://HOST/ws -> http://HOST
check "GET /health answers ok" test "$(curl -s "$(http_of "$url")/health")" = ok

serve_as() { # serve_as NAME ARGS...: starts a server with ARGS, sets $served_pid and $served_url
  local name=$1; shift
  local at=(--addr 127.0.0.1:0)
  [[ " $* " == *" --addr "* ]] && at=()
  "$bin/server" "${args[@]}" "${at[@]}" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  served_pid=$!
  for _ in $(seq 100); do [ -s "$work/$name.out" ] && break; sleep 0.05; done
  served_url=$(awk 'NR == 1 { print $2 }' "$work/$name.out")
}
echoed_by() { # echoed_by FILE N: waits (bounded) until the client writing FILE got echo #N
  for _ in $(seq 200); do grep -q "#$2," "$1" 2>/dev/null && break; sleep 0.05; done
}

# Metrics: on the WebSocket address by default, off with --no-metrics, on an address of their
# own with --metrics-addr (then with /health, and no upgrades there).
base=$(http_of "$url")
check "GET /metrics answers in the Prometheus text format" \
  test "$(curl -s -o /dev/null -w '%{content_type}' "$base/metrics")" = 'text/plain; version=0.0.4; charset=utf-8'
check "the metrics count the connections served so far" \
  grep -Eq '^ws_echo_connections_total [1-9][0-9]*$' <(curl -s "$base/metrics")
check "the metrics count the messages received" \
  grep -Eq '^ws_echo_messages_total\{direction="received"\} [1-9][0-9]*$' <(curl -s "$base/metrics")
serve_as nometrics --no-metrics
check "with --no-metrics, /metrics gets 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$(http_of "$served_url")/metrics")" = 404
kill "$served_pid"
metrics_port=$(free_port)
serve_as admin --metrics-addr "127.0.0.1:$metrics_port"
check "with --metrics-addr, the server prints where the metrics are" \
  grep -qx "metrics: http://127.0.0.1:$metrics_port/metrics" "$work/admin.out"
check "with --metrics-addr, /metrics and /health answer there" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$metrics_port/metrics")$(curl -s "http://127.0.0.1:$metrics_port/health")" = 200ok
check "with --metrics-addr, not on the WebSocket address" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$(http_of "$served_url")/metrics")" = 404
check "with --metrics-addr, its address upgrades nothing" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "http://127.0.0.1:$metrics_port/ws")" = 404
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --interval 20ms --count 2 >"$work/admin-client.out" 2>&1
check "with --metrics-addr, the WebSocket address serves" grep -qx 'sent 2, echoed 2, missing 0, resent 0, reconnects 0' "$work/admin-client.out"
kill -TERM "$served_pid"
wait "$served_pid"
check "with --metrics-addr, Ctrl-C stops both and exits 0" test $? -eq 0

# A drain delay: from SIGTERM, /health answers 503 while the connections are still served;
# then they get 1001. Without health, /health is a path like any other: 404.
serve_as delay --drain-delay 2s
delayed=$served_pid delay_url=$served_url
timeout 20 "$bin/client" "${args[@]}" --url "$delay_url" --interval 50ms --no-reconnect >"$work/delay-client.out" 2>&1 &
delay_client=$!
echoed_by "$work/delay-client.out" 2
kill -TERM "$delayed"
sleep 0.3
check "in the drain delay, /health answers 503 draining" \
  test "$(curl -s -w ' %{http_code}' "$(http_of "$delay_url")/health")" = $'draining\n 503'
before=$(grep -c '^received: ' "$work/delay-client.out")
sleep 0.5
check "in the drain delay, the client still gets echoes" test "$(grep -c '^received: ' "$work/delay-client.out")" -gt "$before"
wait "$delayed"
check "after the delay the server drains and exits 0" test $? -eq 0
wait "$delay_client"
check "after the delay the client was told 1001 going away" grep -qx 'server closed: 1001 going away' "$work/delay-client.out"
serve_as nohealth --no-health
check "with --no-health, /health gets 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$(http_of "$served_url")/health")" = 404
kill "$served_pid"

# The test target: the controls printed, ?info shown by the client, a delay in its RTTs, a bad
# value's 400 named, ?status and an abort answered as asked; and a plain server ignores them.
serve_as target --test-target --instance examples-1
check "--test-target prints the controls" grep -q '^  ?close=4000&after=3 ' "$work/target.out"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url?info&delay=200ms" --interval 50ms --count 2 >"$work/info.out" 2>&1
check "?info: the client prints the server's view" \
  grep -Eq '^the server saw: GET /ws\?info&delay=200ms from 127\.0\.0\.1:[0-9]+ to 127\.0\.0\.1:[0-9]+ \(connection 1 of examples-1, subprotocol none\)$' "$work/info.out"
check "?info: ... with the headers it received" grep -qx '  Origin: http://localhost/' "$work/info.out"
check "?delay=200ms: every round trip takes the delay" \
  test "$(grep -Ec '^received: Hello World \(#[12], rtt 2[0-9]{2}\.[0-9]+ ms\)$' "$work/info.out")" -eq 2
check "?info and ?delay: every echo accounted for" grep -qx 'sent 2, echoed 2, missing 0, resent 0, reconnects 0' "$work/info.out"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url?delay=soon" --count 1 >/dev/null 2>"$work/bad.err"
check "a bad control: exit 1" test $? -eq 1
check "... with the 400 naming it" grep -qx "error: $served_url?delay=soon: the server answered HTTP 400 instead of upgrading: bad delay: want a duration such as 200ms, at most 1m" "$work/bad.err"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url?status=503" --count 1 --fail-fast >/dev/null 2>"$work/status.err"
check "?status=503: HTTP 503" grep -q 'the server answered HTTP 503 instead of upgrading: refused as ?status= asked$' "$work/status.err"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url?abort&after=2" --interval 20ms --count 5 >"$work/abort.out" 2>&1
check "?abort&after=2: the client sees the link drop twice" \
  test "$(grep -cx 'link down: the server closed the connection without a Close' "$work/abort.out")" -eq 2
check "... reconnects, and every echo is accounted for" grep -Eqx 'sent 5, echoed 5, missing 0, resent [0-9]+, reconnects 2' "$work/abort.out"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url?push=3&every=50ms&text=tick" --interval 200ms --count 3 >"$work/push.out" 2>&1
check "?push=3: the client shows three pushes apart from its echoes, all accounted for" \
  test "$(grep -cx 'unexpected message: tick' "$work/push.out")" -eq 3 -a \
  "$(grep -cx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/push.out")" -eq 1
timeout 20 "$bin/client" "${args[@]}" --url "$served_url?nopong" --interval 1h --ping-interval 200ms \
  --pong-timeout 300ms --no-reconnect >/dev/null 2>"$work/nopong.err"
check "?nopong: the client's heartbeat finds the server dead, exit 1" test $? -eq 1
check "... in one line" grep -Eqx "error: $served_url\?nopong: connection lost: no answer from the server for 0\.[0-9]+s" "$work/nopong.err"
kill "$served_pid"
timeout 20 "$bin/client" "${args[@]}" --url "$url?delay=5s&status=503&abort" --interval 20ms --count 2 >"$work/plain.out" 2>&1
check "a server without --test-target ignores the controls" \
  grep -qx 'sent 2, echoed 2, missing 0, resent 0, reconnects 0' "$work/plain.out"
timeout 20 "$bin/client" "${args[@]}" --url "$url?info" --interval 20ms --count 3 >"$work/plain-info.out" 2>&1
check "?info of a plain server: exit 0, said to be ignored, nothing counted missing" \
  test $? -eq 0 -a "$(grep -c '^the server ignored ?info' "$work/plain-info.out")" -eq 1
check "... and its first message counted as the echo it is" \
  grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/plain-info.out"

# Bad usage: one line, exit 2, nothing served.
usage() { # usage NAME BINARY ARGS...: the binary refuses its flags with one line and exit 2
  local name=$1 binary=$2; shift 2
  timeout 10 "$bin/$binary" "${args[@]}" "$@" >"$work/usage.out" 2>"$work/usage.err"
  local rc=$?
  check "$name: exit 2 with one line ($(head -c 120 "$work/usage.err"))" \
    test "$rc" -eq 2 -a "$(wc -l <"$work/usage.err")" -eq 1 -a ! -s "$work/usage.out"
}
usage "server --path ws" server --addr 127.0.0.1:0 --path ws
usage "server --max-connections 0" server --addr 127.0.0.1:0 --max-connections 0
usage "server --max-message-size 0" server --addr 127.0.0.1:0 --max-message-size 0
usage "server --metrics-addr with --no-health --no-metrics" server --addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 --no-health --no-metrics
usage "server --max-frame-size 0" server --addr 127.0.0.1:0 --max-frame-size 0
usage "client --interval 0" client --url "$url" --interval 0
usage "client --url with --addr" client --url "$url" --addr 127.0.0.1:1
usage "client --ca with --cert-pin" client --url "$url" --ca ca.pem --cert-pin cert.pem
usage "server --log-format xml" server --addr 127.0.0.1:0 --log-format xml
usage "client --bogus" client --bogus
check "the path's error names it" grep -q 'the path "ws" must start with /' <(timeout 10 "$bin/server" "${args[@]}" --path ws 2>&1)
"$bin/server" "${args[@]}" --help >"$work/help.out" 2>&1
check "server --help exits 0" test $? -eq 0
helps() { grep -q RUST_LOG "$1" && grep -q 'http://ADDR/' "$1" && grep -Eq '^ +2 +bad usage' "$1"; }
check "server --help tells RUST_LOG, the page and the exit codes" helps "$work/help.out"

# A client whose output is closed early exits quietly.
timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 20ms --count 50 2>"$work/pipe.err" | head -1 >/dev/null
check "client | head -1: no panic" test ! -s "$work/pipe.err"

# The server's reason comes with a refusal.
"$bin/server" "${args[@]}" --addr 127.0.0.1:0 --allow-origin https://only.example >"$work/strict.out" 2>/dev/null &
pids_early=($!)
for _ in $(seq 100); do [ -s "$work/strict.out" ] && break; sleep 0.05; done
strict_url=$(awk 'NR == 1 { print $2 }' "$work/strict.out")
timeout 20 "$bin/client" "${args[@]}" --url "$strict_url" >"$work/strict-client.out" 2>"$work/strict-client.err"
check "a refused client exits 1" test $? -eq 1
check "a refused client prints the server's reason in one line" \
  grep -qx "error: $strict_url: the server answered HTTP 403 instead of upgrading: origin not allowed" "$work/strict-client.err"
kill "${pids_early[@]}" 2>/dev/null

# Missing echoes: a server that answers nothing; the client waits --echo-timeout, then exits 1.
mute_port=$(free_port)
python3 -c '
import sys
from websockets.sync.server import serve
def mute(ws):
    for _ in ws:
        pass
with serve(mute, "127.0.0.1", int(sys.argv[1])) as server:
    server.serve_forever()
' "$mute_port" 2>/dev/null &
pids_early=($!)
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$mute_port") 2>/dev/null && break; sleep 0.05; done
timeout 20 "$bin/client" "${args[@]}" --url "ws://127.0.0.1:$mute_port/" --interval 50ms --count 2 --echo-timeout 200ms \
  >"$work/mute.out" 2>&1
check "missing echoes: exit 1 after the echo timeout" test $? -eq 1
check "missing echoes are counted" grep -qx 'sent 2, echoed 0, missing 2, resent 0, reconnects 0' "$work/mute.out"
kill "${pids_early[@]}" 2>/dev/null

# The client as a probe: round trips and setup times in the summary, --json, --deadline, and
# exit 0 only when every echo came back and --count was reached.
check "the summary gives round-trip percentiles and the setup times" \
  grep -Eqx 'rtt p50 [0-9.]+ ms, p90 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms; connect [0-9.]+ ms, handshake [0-9.]+ ms' "$work/count.out"
timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 20ms --count 3 --json >"$work/json.out" 2>&1
check "--json prints one JSON object, and exit 0" test $? -eq 0 -a "$(wc -l <"$work/json.out")" -eq 1
check "--json holds the counts and the verdict" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert (s["sent"], s["echoed"], s["missing"], s["count_reached"], s["ok"]) == (3, 3, 0, True, True), s
assert s["rtt_ms"]["p50"] <= s["rtt_ms"]["p99"] <= s["rtt_ms"]["max"] and s["connect_ms"] > 0, s' "$work/json.out"
timeout 20 "$bin/client" "${args[@]}" --url "$url" --interval 100ms --count 50 --deadline 300ms --json >"$work/short.out" 2>&1
check "--deadline before --count is reached: exit 1, count_reached false" \
  test $? -eq 1 -a "$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(s["count_reached"], s["missing"])' "$work/short.out")" = "False 0"
serve_as gone
kill -TERM "$served_pid"
wait "$served_pid"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --interval 100ms --deadline 1s --backoff-initial 100ms >"$work/gone.out" 2>&1
check "a server that is gone: the first connection retried until --deadline, exit 1" test $? -eq 1
check "... each failed attempt one line" \
  grep -Eq '^connecting to 127\.0\.0\.1:[0-9]+ failed: .*refused.* \(attempt 2, next in [0-9.]+s\)$' "$work/gone.out"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --deadline 1s --json >"$work/gone.json" 2>"$work/gone-json.err"
check "... under --json: exit 1, one JSON object, no connection up at the end" python3 -c '
import json, sys
assert sys.argv[2] == "1", sys.argv[2]
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
s = json.loads(lines[0])
assert (s["sent"], s["down_at_end"], s["count_reached"], s["error"], s["ok"]) == (0, True, None, None, False), s' "$work/gone.json" $?
timeout 20 "$bin/client" "${args[@]}" --url http://example/ --json >"$work/bad-url.json" 2>/dev/null
check "a bad URL under --json: exit 2, one JSON object naming the error" python3 -c '
import json, sys
assert sys.argv[2] == "2", sys.argv[2]
s = json.loads(open(sys.argv[1]).read())
assert s["ok"] is False and "ws:// or wss://" in s["error"] and s["sent"] == 0, s' "$work/bad-url.json" $?
serve_as small --max-message-size 5
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --interval 50ms >"$work/small.out" 2>&1
check "a message over the server's limit: refused once, not resent, exit 1 by itself" \
  test $? -eq 1 -a "$(grep -c '^server closed: 1009' "$work/small.out")" -eq 1
check "... and the summary says so" \
  grep -qx 'sent 1, echoed 0, missing 0, refused 1 (too big for the server: 1009), resent 0, reconnects 0' "$work/small.out"
kill "$served_pid"
serve_as vanishing
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --interval 50ms --deadline 1500ms --backoff-initial 100ms >"$work/vanish.out" 2>&1 &
vanish_client=$!
echoed_by "$work/vanish.out" 2
kill -TERM "$served_pid"
wait "$vanish_client"
check "a server that went away mid-run: --deadline ends the retries, exit 1" test $? -eq 1
check "each failed reconnect attempt is one line" \
  grep -Eq '^reconnecting to 127\.0\.0\.1:[0-9]+ failed: .* \(attempt 2, next in [0-9.]+s\)$' "$work/vanish.out"

# --log-format json: every log line one JSON object, the startup among them (nothing on
# standard output), a connection's end with its fields; the probe listener's shutdown at debug.
RUST_LOG=info "$bin/server" "${args[@]}" --addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 \
  --log-format json >"$work/jsonlog.out" 2>"$work/jsonlog.err" &
served_pid=$!
for _ in $(seq 100); do grep -q '"serving"' "$work/jsonlog.err" && break; sleep 0.05; done
read -r served_url health_url < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    l = json.loads(line)
    if l.get("event") == "serving":
        print(l["url"], l["health"])' "$work/jsonlog.err")
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --interval 20ms --count 2 >/dev/null 2>&1
curl -s "$health_url" >/dev/null # a probe
kill -INT "$served_pid"
wait "$served_pid"
check "--log-format json: nothing on standard output" test ! -s "$work/jsonlog.out"
check "--log-format json: the startup is one record with the addresses, runtime and threads" python3 -c '
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
s = [l for l in lines if l.get("event") == "serving"]
assert len(s) == 1 and s[0]["url"].startswith("ws://127.0.0.1:") and s[0]["url"].endswith("/ws"), s
assert s[0]["metrics"].endswith("/metrics") and s[0]["threads"] >= 1 and s[0]["test_target"] is False, s
assert s[0]["runtime"] in ("smol", "async-std", "tokio"), s' "$work/jsonlog.err"
check "at info, a WebSocket connection has its open and its end, a health probe no line" python3 -c '
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
events = [l["event"] for l in lines if "conn" in l]
assert events == ["open", "ended"], events' "$work/jsonlog.err"
check "at info, the signal is named and the drain is one line of each kind" python3 -c '
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
events = [l["event"] for l in lines if l.get("event") in ("signal", "draining", "shut_down")]
assert events == ["signal", "draining", "shut_down"], events
assert [l["signal"] for l in lines if l.get("event") == "signal"] == ["SIGINT"], lines' "$work/jsonlog.err"
check "--log-format json: every line is a JSON object; the end of a connection has its fields" python3 -c '
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
assert lines and all({"time", "level", "target", "message"} <= set(l) for l in lines), lines
ended = [l for l in lines if l.get("event") == "ended"]
assert len(ended) == 1, lines
e = ended[0]
assert (e["messages_in"], e["messages_out"], e["close_code"]) == (2, 2, 1000), e
assert e["peer"].startswith("127.0.0.1:") and e["level"] == "INFO", e' "$work/jsonlog.err"

# A second signal during the drain exits at once: 128 + its number.
serve_as twice --drain-delay 10s
kill -TERM "$served_pid"
for _ in $(seq 100); do grep -q 'received SIGTERM' "$work/twice.err" && break; sleep 0.05; done
kill -INT "$served_pid"
wait "$served_pid"
check "a second signal during the drain exits at once with 130 (SIGINT)" test $? -eq 130
check "each signal is logged by its name" \
  grep -q 'received SIGINT while draining: exiting at once (130)' "$work/twice.err"

# The connection limit is not silent: the first connection past it is a warning, once.
serve_as full --max-connections 1
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --interval 1h >"$work/full-client.out" 2>&1 &
full_client=$!
for _ in $(seq 100); do grep -q '^connected' "$work/full-client.out" && break; sleep 0.05; done
upgrade=(-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
check "past --max-connections, an upgrade gets 503" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "${upgrade[@]}" "$(http_of "$served_url")/ws")" = 503
curl -s -o /dev/null "${upgrade[@]}" "$(http_of "$served_url")/ws"
check "reaching the connection limit is one warning, once" \
  test "$(grep -c 'WARN.*the connection limit (1) is reached' "$work/full.err")" -eq 1
kill -INT "$full_client"; wait "$full_client"
kill "$served_pid"

# Subprotocols: the server's pick of the client's offer, printed by the client.
serve_as protocols --protocol chat --protocol echo
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --protocol mqtt --protocol echo --interval 20ms --count 1 \
  >"$work/protocols-client.out" 2>&1
check "the client prints the subprotocol the server selected" \
  grep -Eqx 'connected to 127\.0\.0\.1:[0-9]+, protocol echo' "$work/protocols-client.out"
timeout 20 "$bin/client" "${args[@]}" --url "$served_url" --protocol mqtt --interval 20ms --count 1 \
  >/dev/null 2>"$work/protocols-none.err"
check "offered none the server speaks, the client says so in one line, exit 1" \
  test $? -eq 1 -a "$(cat "$work/protocols-none.err")" = "error: $served_url: the server selected none of the subprotocols offered (mqtt)"
kill "$served_pid"

# --reuse-port: two instances on one address, both serving; one stops, the other serves on.
serve_as reuse-one --reuse-port
reuse_one=$served_pid reuse_url=$served_url
reuse_addr=${reuse_url#ws://}
reuse_addr=${reuse_addr%/ws}
serve_as reuse-two --reuse-port --addr "$reuse_addr"
reuse_two=$served_pid
check "a second --reuse-port instance serves on the same address" test "$served_url" = "$reuse_url"
timeout 10 "$bin/server" "${args[@]}" --addr "$reuse_addr" >/dev/null 2>"$work/reuse-taken.err"
check "an instance without --reuse-port is told the address is taken, exit 1" \
  test $? -eq 1 -a "$(grep -c 'cannot serve on' "$work/reuse-taken.err")" -eq 1
kill -TERM "$reuse_one"
wait "$reuse_one"
timeout 20 "$bin/client" "${args[@]}" --url "$reuse_url" --interval 20ms --count 3 >"$work/reuse-client.out" 2>&1
check "with one instance stopped, the other serves the address" \
  grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/reuse-client.out"
kill -TERM "$reuse_two"

# Ctrl-C on the server during traffic: every connection gets 1001, and no echo is lost.
serve_as drain-server
drainer=$served_pid drain_url=$served_url
timeout 20 "$bin/client" "${args[@]}" --url "$drain_url" --interval 20ms --no-reconnect >"$work/drain-client.out" 2>&1 &
drain_client=$!
echoed_by "$work/drain-client.out" 5
kill -INT "$drainer"
wait "$drainer"
check "the server drains and exits 0 on Ctrl-C" test $? -eq 0
wait "$drain_client"
drain_rc=$?
# A message sent after the server's 1001 left is not taken: missing, and then the exit is 1.
drain_missing=$(sed -n 's/^sent [0-9]*, echoed [0-9]*, missing \([0-9]*\),.*/\1/p' "$work/drain-client.out")
check "the client exits 0 after the server's 1001 when nothing is missing, else 1 ($drain_missing missing)" \
  test "$drain_rc" -eq "$(( drain_missing > 0 ? 1 : 0 ))" -a -n "$drain_missing"
check "the client was told 1001 going away" grep -qx 'server closed: 1001 going away' "$work/drain-client.out"
check "the server logs no message and no startup noise at its default level" \
  test "$(grep -c 'received from client\|file descriptor limit' "$work/drain-server.err")" -eq 0
check "the server reports the connection closed cleanly" \
  grep -Eq 'shut down 127\.0\.0\.1:[0-9]+: served 1 connection; of those open at the shutdown, 1 closed cleanly and 0 were dropped' "$work/drain-server.err"
taken=$(sed -n 's/.*at shutdown: .*; in \([0-9]*\) messages\? .*/\1/p' "$work/drain-server.err" | tail -1)
given=$(sed -n 's/.*at shutdown: .*, out \([0-9]*\) messages\? .*/\1/p' "$work/drain-server.err" | tail -1)
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
  # The timed mode: the seed's client many times over, open loop, from two source addresses.
  "$bin/loadgen" --url "$url" --mode timed --conns 50 --interval 100ms --duration 500ms \
    --sources 127.0.0.2,127.0.0.3 --json >"$work/timed.json" 2>&1
  check "loadgen timed: every connection's five sends echoed, no errors" \
    grep -Eq '"messages":250,.*"errors":0,' "$work/timed.json"
  # Two generators measuring one window (--start-at), their sends interleaved (--part) and due
  # on a 1 ms grid (--tick): each connection's five sends echoed, in both.
  at=$(( $(date +%s%3N) + 3000 ))
  parts=()
  for part in 1 2; do
    "$bin/loadgen" --url "$url" --mode timed --conns 20 --interval 100ms --duration 500ms \
      --part "$part/2" --start-at "$at" --tick 1ms --json >"$work/part$part.json" 2>&1 &
    parts+=($!)
  done
  wait "${parts[@]}"
  both_parts() { grep -Eq '"messages":100,.*"errors":0,' "$work/part1.json" &&
    grep -Eq '"messages":100,.*"errors":0,' "$work/part2.json"; }
  check "loadgen timed in two parts: 100 echoed in each, no errors" both_parts
  # ...and it answers the server's pings: a server that pings after 300 ms of silence and
  # drops after 300 ms more keeps every connection of a 2 s interval.
  serve_as pinging --ping-interval 300ms --pong-timeout 300ms
  "$bin/loadgen" --url "$served_url" --mode timed --conns 100 --interval 2s --duration 3s --json >"$work/timed-ping.json" 2>&1
  check "loadgen timed answers the server's pings (150 echoed, no errors)" \
    grep -Eq '"messages":150,.*"errors":0,' "$work/timed-ping.json"
  kill "$served_pid"
  # The churn mode (bench/soak.sh): clients coming and going, a tenth by reset. Each session
  # is 100 echoes; the server's descriptors are back where they were once all have left.
  "$bin/loadgen" --url "$url" --mode churn --conns 20 --duration 2s --server-pid "$server" \
    --json >"$work/churn.json" 2>&1
  check "loadgen churn: 100 echoes a session, resets among them, no errors, no descriptor left" \
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); f = r["fds"]
sys.exit(not (r["errors"] == 0 and r["sessions"] >= 20 and r["messages"] == 100 * r["sessions"]
              and r["resets"] > 0 and f["after"] == f["before"]))' "$work/churn.json"
fi
if has tokio; then
  # The web-framework examples are a package of their own (frameworks/), built by name.
  cargo build -q -p frameworks --examples || exit 1
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
if has cli; then
  . scripts/command.sh
fi

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
