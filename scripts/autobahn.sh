#!/usr/bin/env bash
# Autobahn's conformance suite against our server example under each runtime, with Node's ws
# and Python's websockets (permessage-deflate on in both) run on the same cases as anchors.
# The suite's own fuzzing client is Python 2 code: interop/autobahn/port.py ports the
# published release to Python 3 in a virtualenv under target/autobahn, and
# interop/autobahn/fuzzingclient.py runs it and checks the results (no case FAILED or
# UNIMPLEMENTED, at most 2 NON-STRICT, every close as expected). HTML and JSON reports are
# left in target/autobahn/reports.
#
# Usage: bash scripts/autobahn.sh [quick|all|CASES]
#   quick (the default, what scripts/test.sh runs): sections 1-10, and sections 12 and 13
#         with messages of up to 4 KiB (every compression setting, 60 of their 216 cases);
#         (361 cases per server, about 4 minutes for all five servers);
#   all:  sections 1-13 whole, 517 cases per server (about 10 minutes each);
#   CASES: Autobahn's own patterns, comma-separated, e.g. 12.1.*,13.7.*
set -u
cd "$(dirname "$0")/.."
case ${1:-quick} in
  quick) cases="1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*" bound=30m
    for n in 1 2 3 4 5; do cases+=",12.*.$n\$,13.*.$n\$"; done ;;
  all) cases="1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,12.*,13.*" bound=3h ;;
  *) cases=$1 bound=3h ;;
esac
. scripts/lib.sh # check, free_port, wait_line

dir=target/autobahn
venv=$dir/venv
if ! "$venv/bin/python" -c 'import autobahn, twisted, OpenSSL, jinja2' 2>/dev/null; then
  python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check \
      'autobahn[twisted]==26.11.1' twisted==26.10.0 pyopenssl==26.4.0 service-identity==26.1.0 \
      jinja2==3.1.6 || { echo "FAILED: could not install autobahn and twisted"; exit 1; }
fi
sdist=$dir/sdist/autobahntestsuite-25.10.1.tar.gz
[ -f "$sdist" ] || "$venv/bin/pip" download -q --disable-pip-version-check --no-deps \
  --no-binary :all: autobahntestsuite==25.10.1 -d "$dir/sdist" ||
  { echo "FAILED: could not download Autobahn's test suite"; exit 1; }
"$venv/bin/python" interop/autobahn/port.py "$sdist" "$dir/ported" ||
  { echo "FAILED: could not port Autobahn's test suite"; exit 1; }
# Release: section 9 moves messages of up to 16 MiB, which a debug build takes minutes over.
cargo build -q --release --features smol,async-std,tokio --example server || exit 1

work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
agents=()
# Section 9 sends messages of up to 16 MiB: every server here accepts 64 MiB.
limit=$((64 << 20))
for runtime in smol async-std tokio; do
  target/release/examples/server --addr 127.0.0.1:0 --runtime "$runtime" --max-message-size "$limit" \
    --ping-interval off >"$work/$runtime.log" 2>&1 &
  pids+=($!)
  wait_line "$work/$runtime.log" '^serving ws://' || { echo "FAILED: our server ($runtime) did not start"; exit 1; }
  agents+=("ws-echo-$runtime=$(sed -n 's/^serving \(ws:[^ ]*\).*/\1/p' "$work/$runtime.log")")
done
node_port=$(free_port) python_port=$(free_port)
MAX_PAYLOAD=$limit node interop/node/server.js 127.0.0.1 "$node_port" deflate >"$work/node.log" 2>&1 &
pids+=($!)
MAX_PAYLOAD=$limit python3 interop/python_server.py 127.0.0.1 "$python_port" >"$work/python.log" 2>&1 &
pids+=($!)
wait_line "$work/node.log" '^listening' && wait_line "$work/python.log" '^listening' ||
  { echo "FAILED: the anchors did not start"; exit 1; }
agents+=(--anchor "node-ws=ws://127.0.0.1:$node_port/" --anchor "python-websockets=ws://127.0.0.1:$python_port/")

rm -rf "$dir/reports"
check "autobahn $cases" timeout "$bound" "$venv/bin/python" -u interop/autobahn/fuzzingclient.py \
  --ported "$dir/ported" --reports "$dir/reports" --cases "$cases" "${agents[@]}"
[ "$failed" -eq 0 ]
