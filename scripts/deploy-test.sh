#!/usr/bin/env bash
# Deployment, as a new user meets it: README's install line gives a working `ws-echo`; the
# Kubernetes manifests validate against Kubernetes' schemas and the systemd unit verifies, and the kubelet's stop sequence
# run with their settings drains as they promise; the image from scratch serves from its own
# root (scripts/image-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== cargo install --path . (README's install line) gives ws-echo"
# --debug and the repository's target directory: the suite's build, not a release build of its own.
cargo install -q --locked --debug --path . --root "$work" --target-dir target
"$work/bin/ws-echo" --help >"$work/help.txt"
grep -q "^Usage: ws-echo " "$work/help.txt"
echo "ok: $work/bin/ws-echo --help"

echo "== the Kubernetes manifests validate (kubernetes-validate, offline schemas)"
kubernetes-validate --strict deploy/kubernetes/*.yaml

echo "== the systemd unit verifies (systemd-analyze verify: every key and value known)"
# Its ExecStart pointed at the command just installed; the verifier warns and still exits 0
# on an unknown key or a bad value, so any output at all fails.
sed "s|^ExecStart=/usr/local/bin/ws-echo|ExecStart=$work/bin/ws-echo|" deploy/systemd/ws-echo.service \
  >"$work/ws-echo.service"
systemd-analyze verify --man=no "$work/ws-echo.service" >"$work/verify.out" 2>&1
if [ -s "$work/verify.out" ]; then cat "$work/verify.out"; exit 1; fi
echo "ok: deploy/systemd/ws-echo.service"

echo "== the kubelet's stop sequence with the manifest's settings"
python3 scripts/kubernetes-drain.py "$work/bin/ws-echo" 20

echo "== the image from scratch, run from its own root"
bash scripts/image-test.sh
