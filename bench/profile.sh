#!/usr/bin/env bash
# Where one server's time goes at the seed's workload: C timed clients (one 20 B text every
# 2 s each, from 127.0.0.2-4), the server pinned to core 0 and the load generator to core 1
# (as bench/timed.sh runs them). Once every client is up: the system calls over 8 s (strace
# -c, counts and time; strace slows the server, so read counts and ratios), the server's CPU
# per message over 10 s without strace, then 8 s of perf (cpu-clock) with its top entries.
# The perf data stays in target/profile/SERVER.data (perf report -i it for more).
# Usage: bash bench/profile.sh SERVER [CONNS [SERVER ARGS...]]
#   SERVER: smol, async-std or tokio (the server example, its defaults), or a peer's kind
#   (async-tungstenite-smol-8k, tuned, ...: bench/peers). Needs strace and perf; release build.
set -eu
cd "$(dirname "$0")/.."
server_kind=${1:?usage: bash bench/profile.sh SERVER [CONNS]}
conns=${2:-10000}
shift $(($# < 2 ? $# : 2))
cargo build -q --release --features smol,async-std,tokio --example server --example loadgen
(cd bench/peers && cargo build -q --release)
bin=target/release/examples
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
case $server_kind in
  smol | async-std | tokio)
    cmd=("$bin/server" --addr "127.0.0.1:$port" --runtime "$server_kind" --max-connections $((conns + 100)) "$@") ;;
  *) cmd=(bench/peers/target/release/ws-echo-bench-peers --kind "$server_kind" --addr "127.0.0.1:$port" "$@") ;;
esac
out=$(mktemp -d)
RUST_LOG=warn prlimit --nofile=20000:20000 taskset -c 0 "${cmd[@]}" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$out"' EXIT
sleep 0.5
ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{ split($0, a, ") "); split(a[2], f, " "); print (f[12] + f[13]) / t }' "/proc/$server/stat"; }
prlimit --nofile=20000:20000 taskset -c 1 "$bin/loadgen" --url "ws://127.0.0.1:$port/ws" --mode timed \
  --conns "$conns" --interval 2s --payload 20 --duration 60s --sources 127.0.0.2,127.0.0.3,127.0.0.4 \
  >/dev/null 2>&1 &
load=$!
# Every client up: the server holds a descriptor per connection.
for _ in $(seq 300); do
  [ "$(ls "/proc/$server/fd" | wc -l)" -ge "$conns" ] && break
  sleep 0.1
done
sleep 3
echo "== $server_kind, $conns timed clients: system calls over 8 s (strace -c -f)"
timeout -s INT 8 strace -f -c -p "$server" -o "$out/strace" >/dev/null 2>&1 || true
head -n 25 "$out/strace"
before=$(cpu)
sleep 10
after=$(cpu)
echo "== CPU per message over 10 s without tracing: $(python3 -c "print(f'{($after - $before) / ($conns / 2 * 10) * 1e6:.1f} us')")"
echo "== perf, 8 s (cpu-clock): top entries"
mkdir -p target/profile
data=target/profile/$server_kind${1:+-$(echo "$*" | tr -c 'a-z0-9\n' -)}.data
perf record -q -e cpu-clock -g -p "$server" -o "$data" -- sleep 8 >/dev/null 2>&1 || true
report() { perf report -i "$data" --no-children --stdio -g none "$@" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
report --sort comm,dso | head -n 8
report --percent-limit 1.2 | head -n 40
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
