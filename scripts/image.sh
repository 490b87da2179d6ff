#!/usr/bin/env bash
# Builds ws-echo's image (deploy/image/Containerfile) with docker or podman, whichever is here:
# the `ws-echo` command statically linked (glibc's static libraries: no libc needed at run
# time), copied into an image FROM scratch. Prints the image's size, then its name, last.
# Usage: scripts/image.sh [NAME]   (default ws-echo:latest)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-ws-echo:latest}
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null 2>&1; then
  engine=podman
else
  echo "error: neither docker (with its daemon running) nor podman is here" >&2
  exit 1
fi
target=$(rustc -vV | sed -n 's/^host: //p')
# --target: the static flag then applies to the binary alone, not to build scripts and
# proc-macros, which the compiler must load as shared objects.
RUSTFLAGS="-C target-feature=+crt-static -C strip=symbols" cargo build -q --release --locked --target "$target" --bin ws-echo
binary=target/$target/release/ws-echo
# A program interpreter (ld.so) means shared libraries: not in an image from scratch.
if readelf -l "$binary" | grep 'INTERP' >/dev/null; then # all read: no SIGPIPE under pipefail
  echo "error: $binary is dynamically linked" >&2
  exit 1
fi
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp deploy/image/Containerfile "$binary" "$context/"
"$engine" build -q -f "$context/Containerfile" -t "$name" "$context" >/dev/null
size=$("$engine" image inspect --format '{{.Size}}' "$name")
echo "built with $engine: $(( (size + 524288) / 1048576 )) MiB ($size bytes)" >&2
echo "$name"
