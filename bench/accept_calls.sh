#!/usr/bin/env bash
# How many times the server example calls accept4 while nobody connects: 2,000 timed clients
# (one 20 B text every 2 s each) connect first, then strace counts the server's accept4,
# sendto and recvfrom over 8 s. Every accept4 there is a wasted EAGAIN.
# Usage: bash bench/accept_calls.sh [smol|async-std|tokio]   (strace installed; release build)
set -eu
cd "$(dirname "$0")/.."
runtime=${1:-smol}
cargo build -q --release --features "$runtime" --example server --example loadgen
bin=target/release/examples
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/server" --addr "127.0.0.1:$port" --runtime "$runtime" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 0.5
"$bin/loadgen" --url "ws://127.0.0.1:$port/ws" --mode timed --conns 2000 --duration 14s \
  --interval 2s >/dev/null 2>&1 &
load=$!
sleep 4
timeout 8 strace -f -c -e trace=accept4,sendto,recvfrom -p "$server" 2>&1 | grep -E 'calls|accept4|sendto|recvfrom'
wait $load
