#!/usr/bin/env bash
# Builds the image (scripts/image.sh) and runs its entrypoint from the image's own root
# filesystem: exported from a container made of it (never started: this machine's container
# runtime cannot start one), unpacked, then chroot into it as the image's user, with the image's
# environment. The image must hold everything the command needs: it must serve an echo,
# /health and /live, and drain to exit 0 at SIGTERM. Root only (chroot).
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh # check, free_port, wait_line
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: the image test needs root (chroot)"
  exit 0
fi
work=$(mktemp -d)
name=ws-echo-test:$$
image=$(bash scripts/image.sh "$name" 2>"$work/image.err") || { cat "$work/image.err" >&2; exit 1; }
cat "$work/image.err"
if docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
container=$("$engine" create "$image")
trap '"$engine" rm -f "$container" >/dev/null 2>&1; "$engine" rmi -f "$image" >/dev/null 2>&1; kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/root"
"$engine" export "$container" | tar -x -C "$work/root"
check "the image holds the command alone" test "$(cd "$work/root" && find . -type f | sort | tr '\n' ' ')" = "./ws-echo "
entrypoint=$("$engine" image inspect --format '{{join .Config.Entrypoint " "}}' "$image")
user=$("$engine" image inspect --format '{{.Config.User}}' "$image")
mapfile -t env < <("$engine" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" | grep .)
check "the image runs as a user that is not root ($user)" test -n "$user" -a "${user%%:*}" != 0 -a "${user%%:*}" != root
check "the image listens on every interface by default (${env[*]})" grep -qx 'WS_ECHO_ADDR=:8080' < <(printf '%s\n' "${env[@]}")

port=$(free_port)
# The image's environment alone (env -i), its user, its root; a port of this run's (a flag wins).
env -i "${env[@]}" chroot --userspec="$user" "$work/root" $entrypoint --addr ":$port" \
  >"$work/server.out" 2>"$work/server.err" &
server=$!
wait_line "$work/server.err" '"event":"serving"'
check "the entrypoint starts in the image's root, logging JSON" grep -q '"event":"serving"' "$work/server.err"
check "/health answers 200 ok" test "$(curl -s -m 5 "http://127.0.0.1:$port/health")" = ok
check "/live answers 200 ok" test "$(curl -s -m 5 "http://[::1]:$port/live")" = ok
cargo build -q --no-default-features --features test-target,smol --example client || exit 1
timeout 20 target/debug/examples/client --url "ws://127.0.0.1:$port/ws" --interval 50ms --count 3 >"$work/client.out" 2>&1
check "it echoes: sent 3, echoed 3" grep -qx 'sent 3, echoed 3, missing 0, resent 0, reconnects 0' "$work/client.out"
kill -TERM "$server"
wait "$server"
check "SIGTERM drains it to exit 0" test $? -eq 0
echo "image: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
