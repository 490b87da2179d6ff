#!/usr/bin/env bash
# The whole test suite: every test, and the examples end to end, under each runtime feature
# alone and all together; interop with third-party peers (Chromium, Python, Node, Go, nginx);
# the installed command, the Kubernetes manifests and their drain, the image from scratch
# (scripts/deploy-test.sh); Autobahn's conformance suite (scripts/autobahn.sh: sections 1-10,
# 12 and 13 to 4 KiB);
# a pulled cable between network namespaces (root only); rolling restarts behind HAProxy and
# nginx; the doc-tests. What the suite needs beyond Rust is installed first when missing
# (scripts/test-tools.sh; root for Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/test-tools.sh

if cargo nextest --version >/dev/null 2>&1; then
  run=(cargo nextest run --no-fail-fast)
else
  run=(cargo test --no-fail-fast)
fi
# Each runtime alone, then everything: the `ws-echo` command (feature cli, the default, which
# brings smol) and the service for hyper and axum. The default features are off so that each
# set is only what it names.
all=smol,async-std,tokio,tls,cli,hyper
for features in smol async-std tokio $all; do
  echo "== tests with --features $features"
  "${run[@]}" --no-default-features --features "test-target,$features"
  bash scripts/examples.sh "$features"
done
bash scripts/examples.sh $all --runtime async-std
bash scripts/examples.sh $all --runtime tokio
echo "== deployment: the installed command, the manifests and their drain, the image"
bash scripts/deploy-test.sh
echo "== interop with third-party peers"
bash scripts/interop.sh
echo "== Autobahn's conformance suite: sections 1-10, 12 and 13 (to 4 KiB) under each runtime"
bash scripts/autobahn.sh quick
echo "== a pulled cable between network namespaces, heartbeat 1s/1s (root only)"
bash scripts/pulled-cable.sh 1s 1s
echo "== rolling restarts of three instances behind HAProxy and nginx, 50 clients every 100ms"
bash scripts/rolling-restart.sh 50 100ms 1
echo "== doc-tests"
cargo test --all-features --doc
