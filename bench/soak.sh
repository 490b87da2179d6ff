#!/usr/bin/env bash
# Soak: churn on the server example for a while (default 3 minutes; the issue's figure is 30):
# 1,000 clients at a time connecting, exchanging 100 messages (half one at a time, half
# pipelined ten to a write; every tenth 64 KiB), leaving (one in ten by a reset, SO_LINGER 0),
# and again (examples/loadgen --mode churn). Passes when nothing was lost (0 errors), the
# server's RSS and open descriptors at the end are within 5% of what they were after the first
# minute, and once every client has left its descriptors are back to what they were before.
#
# Usage: bash bench/soak.sh [--duration 30m] [--conns 1000] [--runtime smol|async-std|tokio]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=3m conns=1000 runtime=smol
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --runtime) runtime=$2; shift 2 ;;
    *) echo "usage: bash bench/soak.sh [--duration 30m] [--conns 1000] [--runtime smol]" >&2; exit 2 ;;
  esac
done

cargo build -q --release --features smol,async-std,tokio --example server --example loadgen
ex=target/release/examples
work=$(mktemp -d)
. scripts/lib.sh # free_port, wait_line
port=$(free_port)
RUST_LOG=warn "$ex/server" --runtime "$runtime" --addr "127.0.0.1:$port" \
  --max-connections $((conns + 100)) >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
wait_line "$work/server.log" '^serving ws://' || { echo "FAILED: the server did not start"; exit 1; }

echo "soak: $conns clients at a time for $duration on the server example ($runtime), commit $(git rev-parse --short HEAD)"
status=0
"$ex/loadgen" --url "ws://127.0.0.1:$port/ws" --mode churn --conns "$conns" --duration "$duration" \
  --sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 --server-pid "$server" --json \
  >"$work/churn.json" || status=$?
python3 - "$work/churn.json" "$status" <<'EOF'
import json, sys
text = open(sys.argv[1]).read().strip()
if not text:
    sys.exit(f"FAILED: the load generator printed nothing (exit {sys.argv[2]})")
r = json.loads(text)
rss, fds = r["rss_kib"], r["fds"]
print(f"  {r['sessions']} sessions ({r['resets']} left by reset), {r['messages']} messages echoed, "
      f"{r['errors']} errors {r['first_errors'] or ''}")
change = lambda a, b: (b - a) / a * 100 if a else float("inf")
print(f"  server RSS after {r['early_at_s']} s: {rss['early']} KiB, at the end: {rss['end']} KiB "
      f"({change(rss['early'], rss['end']):+.1f}%)")
print(f"  open descriptors after {r['early_at_s']} s: {fds['early']}, at the end: {fds['end']} "
      f"({change(fds['early'], fds['end']):+.1f}%); before the first client: {fds['before']}, "
      f"once all had left: {fds['after']}")
failed = []
if r["errors"]:
    failed.append(f"{r['errors']} errors")
if r["sessions"] == 0:
    failed.append("no session completed")
if abs(change(rss["early"], rss["end"])) > 5:
    failed.append("RSS moved more than 5%")
if abs(change(fds["early"], fds["end"])) > 5:
    failed.append("open descriptors moved more than 5%")
if fds["after"] != fds["before"]:
    failed.append("descriptors left open after every client left")
print("  FAILED: " + "; ".join(failed) if failed else "  passed")
sys.exit(1 if failed else 0)
EOF
if grep -q panicked "$work/server.log"; then
  echo "FAILED: the server panicked"; grep panicked "$work/server.log" | head -3; exit 1
fi
