#!/usr/bin/env bash
# The whole test suite: every test, and the examples end to end, under each runtime feature
# alone and both together, then the doc-tests. The interop tests build the Go seed
# (../shared/anchors/go-seed) and so need Debian's golang-go and golang-golang-x-net-dev, and
# the embedding checks use curl: installed here when missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/net/websocket ] || need+=(golang-golang-x-net-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} for the Go interop tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "error: the interop tests need ${need[*]}: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

if cargo nextest --version >/dev/null 2>&1; then
  run=(cargo nextest run --no-fail-fast)
else
  run=(cargo test --no-fail-fast)
fi
for features in smol async-std tokio smol,async-std,tokio; do
  echo "== tests with --features $features"
  "${run[@]}" --features "$features"
  bash scripts/examples.sh "$features"
done
bash scripts/examples.sh smol,async-std,tokio --runtime async-std
bash scripts/examples.sh smol,async-std,tokio --runtime tokio
echo "== a pulled cable between network namespaces, heartbeat 1s/1s (root only)"
bash scripts/pulled-cable.sh 1s 1s
echo "== doc-tests"
cargo test --all-features --doc
