#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust, when it is missing: Debian's golang-go and
# golang-golang-x-net-dev (the Go seed), curl, iproute2 (network namespaces), chromium and
# chromium-driver, nginx, haproxy; Python's websockets and selenium; Node's ws (interop/node).
# Idempotent and quiet. Needs root for the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_need=()
command -v go >/dev/null 2>&1 || apt_need+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/net/websocket ] || apt_need+=(golang-golang-x-net-dev)
command -v curl >/dev/null 2>&1 || apt_need+=(curl)
command -v ip >/dev/null 2>&1 || apt_need+=(iproute2)
command -v chromium >/dev/null 2>&1 || apt_need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_need+=(chromium-driver)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_need+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || apt_need+=(haproxy)
# systemd-analyze verify checks deploy/systemd/ws-echo.service (scripts/deploy-test.sh).
command -v systemd-analyze >/dev/null 2>&1 || apt_need+=(systemd)
command -v node >/dev/null 2>&1 || apt_need+=(nodejs npm)
# The image (scripts/image.sh): docker with its daemon, or podman.
{ command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; } || command -v podman >/dev/null 2>&1 ||
  apt_need+=(podman)
if [ ${#apt_need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: the tests need ${apt_need[*]}: sudo apt-get install ${apt_need[*]}" >&2
    exit 1
  fi
  echo "installing ${apt_need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi

# Pinned: the versions the interop checks were written against.
if ! python3 -c 'import websockets, selenium' >/dev/null 2>&1; then
  echo "installing websockets and selenium (pip)"
  python3 -m pip install -q --disable-pip-version-check websockets==17.4 selenium==4.27.1
fi
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  echo "installing kubernetes-validate (pip): the manifests' schema check"
  python3 -m pip install -q --disable-pip-version-check kubernetes-validate==1.37.0
fi
if [ ! -d interop/node/node_modules/ws ]; then
  echo "installing ws (npm ci in interop/node)"
  (cd interop/node && npm ci --no-audit --no-fund --silent)
fi
