# What the test scripts share (sourced: `. "$(dirname "$0")/lib.sh"`).

passed=0 failed=0
check() { # check NAME COMMAND...: counts and reports one check
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_line FILE PATTERN: waits (bounded, 10 s) for a line matching PATTERN in FILE.
wait_line() { for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
