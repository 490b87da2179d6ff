#!/bin/sh
# Counts instructions per message and per handshake with callgrind, for ws-echo and the peers of
# bench/compare.sh: figures that do not drift with the machine's load. See bench/instructions.py.
exec python3 "$(dirname "$0")/instructions.py" "$@"
