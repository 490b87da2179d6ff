#!/usr/bin/env bash
# Fuzzes the core with arbitrary client bytes (fuzz/fuzz_targets/serve.rs) for SECONDS
# (default 600). Not part of the test suite: run it by hand. Installs cargo-fuzz if missing;
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take the sanitizer flags cargo-fuzz passes.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
mkdir -p corpus/serve
cp -n seeds/serve/* corpus/serve/
RUSTC_BOOTSTRAP=1 cargo fuzz run serve corpus/serve -- \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
