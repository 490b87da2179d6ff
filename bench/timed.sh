#!/bin/sh
# The seed's workload at scale: C timed-writer connections (one 20-byte text every 2 s each,
# open loop) on ws-echo and its peers, one server at a time. See bench/timed.py.
exec python3 "$(dirname "$0")/timed.py" "$@"
