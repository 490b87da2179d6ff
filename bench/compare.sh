#!/bin/sh
# Compares ws-echo with peer echo servers on this machine and prints one table with ratios.
# See bench/compare.py for the method; arguments are passed on (--rounds, --duration, --only,
# --servers).
exec python3 "$(dirname "$0")/compare.py" "$@"
