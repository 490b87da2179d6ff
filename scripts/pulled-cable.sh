#!/usr/bin/env bash
# The pulled cable, for real: client and server in their own network namespaces, joined by a
# bridge in a third ("the switch"); the cable is pulled by dropping every packet on the
# switch's ports (tbf; this kernel has no netem), never on either host's own interface, where
# Linux would treat the drops as local congestion and fail the connection for the wrong
# reason. Measures how long the server and the client each take to notice, and whether the
# client reconnects once the cable is back.
#
# Usage: pulled-cable.sh [PING PONG]   ours with these heartbeat settings (default 1s 1s),
#                                      checked against PING+PONG plus a slack of 1 s
#        pulled-cable.sh --go [CAP]    the Go seed, for comparison; gives up after CAP s (120)
# Needs root and iproute2 (ip, tc); elsewhere it says SKIP and exits 0.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
  echo "SKIP: pulled-cable needs root, ip and tc (iproute2): not measured here" >&2
  exit 0
fi
mode=ours ping=${1:-1s} pong=${2:-1s} cap=120
if [ "${1:-}" = --go ]; then mode=go cap=${2:-120}; fi

id=$$ work=$(mktemp -d)
cl=wsc$id sw=wsw$id sv=wss$id
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$cl" 2>/dev/null; ip netns del "$sw" 2>/dev/null; ip netns del "$sv" 2>/dev/null
  [ -n "${KEEP_LOGS:-}" ] && cp -r "$work" /tmp/pulled-cable-logs; rm -rf "$work"
}
trap cleanup EXIT

# Two hosts and a switch, with addresses that exist only inside these namespaces.
ip netns add "$cl" && ip netns add "$sw" && ip netns add "$sv" || exit 1
ip link add c0 netns "$cl" type veth peer name cs netns "$sw"
ip link add s0 netns "$sv" type veth peer name ss netns "$sw"
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set cs master br0 && ip -n "$sw" link set ss master br0
for dev in br0 cs ss lo; do ip -n "$sw" link set "$dev" up; done
ip -n "$cl" addr add 10.231.0.1/24 dev c0 && ip -n "$cl" link set c0 up && ip -n "$cl" link set lo up
ip -n "$sv" addr add 10.231.0.2/24 dev s0 && ip -n "$sv" link set s0 up && ip -n "$sv" link set lo up
server_addr=10.231.0.2:8080

pull() { for dev in cs ss; do ip netns exec "$sw" tc qdisc add dev "$dev" root tbf rate 8bit burst 1b limit 1b; done; }
plug() { for dev in cs ss; do ip netns exec "$sw" tc qdisc del dev "$dev" root; done; }
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }
# wait_for FILE PATTERN SECONDS: the timestamp of the first line matching, after $since.
wait_for() {
  local deadline=$(($(date +%s) + $3)) t
  while [ "$(date +%s)" -le "$deadline" ]; do
    t=$(awk -v since="$since" -v pat="$2" '$1 > since && $0 ~ pat { print $1; exit }' "$1")
    [ -n "$t" ] && { echo "$t"; return 0; }
    sleep 0.05
  done
  return 1
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if [ "$mode" = ours ]; then
  cargo build -q --features smol --examples || exit 1
  server=(target/debug/examples/server --addr "$server_addr" --ping-interval "$ping" --pong-timeout "$pong")
  client=(target/debug/examples/client --addr "$server_addr" --interval 500ms --ping-interval "$ping"
          --pong-timeout "$pong" --backoff-initial 200ms --backoff-max 1s --handshake-timeout 2s)
  echo_line='received: Hello World' server_dead='timed out: unresponsive' client_dead='^[0-9.]+ link down'
else
  sh ../shared/anchors/go-seed/build.sh "$work/go" >/dev/null || exit 1
  server=("$work/go/seed-server" -a "$server_addr")
  client=("$work/go/seed-client" -addr "$server_addr" -i 500ms)
  echo_line='received: Hello World' server_dead='receive err|send err' client_dead='read:'
fi

since=0
ip netns exec "$sv" "${server[@]}" > >(stamp >"$work/server.log") 2>&1 &
pids+=($!)
sleep 0.5 # the server binds in well under this; the client's first dial is not retried
ip netns exec "$cl" "${client[@]}" > >(stamp >"$work/client.log") 2>&1 &
client_pid=$!
pids+=($client_pid)
wait_for "$work/client.log" "$echo_line" 10 >/dev/null || { echo "FAILED: no echo before the cut"; cat "$work"/*.log; exit 1; }
since=$(wait_for "$work/client.log" "$echo_line" 5)
pull
cut=$(date +%s.%N) since=$cut
if [ "$mode" = ours ]; then what="ours, heartbeat ${ping}/${pong}"; else what="the Go seed"; fi
echo "cable pulled at $(date -u +%T.%3N) ($what)"
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $*"; fi; }

# The cut must be real: no echo may get through it (one already in flight may land at once).
sleep 1.2
check test "$(awk -v since="$(awk -v c="$cut" 'BEGIN { printf "%.3f", c + 0.2 }')" -v pat="$echo_line" '$1 > since && $0 ~ pat' "$work/client.log" | wc -l)" -eq 0

t_server=$(wait_for "$work/server.log" "$server_dead" "$cap") && server_took="$(elapsed "$cut" "$t_server") s after the cut" || server_took="not within $cap s"
t_client=$(wait_for "$work/client.log" "$client_dead" "$cap") && client_took="$(elapsed "$cut" "$t_client") s after the cut" || client_took="not within $cap s"
echo "server noticed: $server_took"
echo "client noticed: $client_took"

plug
since=$(date +%s.%N)
if [ "$mode" = ours ]; then
  secs() { case $1 in *ms) awk -v v="${1%ms}" 'BEGIN { print v / 1000 }';; *s) echo "${1%s}";; esac; }
  bound=$(awk -v a="$(secs "$ping")" -v b="$(secs "$pong")" 'BEGIN { print a + b + 1 }')
  check awk -v t="${server_took%% *}" -v b="$bound" 'BEGIN { exit !(t + 0 > 0 && t + 0 <= b) }'
  check awk -v t="${client_took%% *}" -v b="$bound" 'BEGIN { exit !(t + 0 > 0 && t + 0 <= b) }'
  t_back=$(wait_for "$work/client.log" 'reconnected to' 20) && echo "client reconnected $(elapsed "$since" "$t_back") s after the cable was back"
  check test -n "${t_back:-}"
  check wait_for "$work/client.log" "$echo_line" 10 >/dev/null
  kill -INT "$client_pid"
  wait "$client_pid" 2>/dev/null
  sleep 0.2
  grep -o 'sent .*' "$work/client.log" | tail -1
  check grep -Eq 'sent ([0-9]+), echoed \1, missing 0, resent [0-9]+, reconnects 1' "$work/client.log"
fi
echo "pulled-cable: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
