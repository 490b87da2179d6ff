#!/usr/bin/env bash
# Rolling restarts behind a load balancer, for real: three server instances behind HAProxy
# (checking GET /health) and behind nginx (which without Plus has no active checks: it passes
# a refused connection or a 503 on to the next instance); CLIENTS of our clients send
# every INTERVAL through it while each instance in turn gets SIGTERM, is waited for and starts
# again, ROUNDS times. Every client must end with missing 0 and see no close but 1001, and
# HAProxy's check must see 503 during each drain. Prints the figures of each run.
# Usage: rolling-restart.sh [CLIENTS [INTERVAL [ROUNDS]]] (default 50 100ms 1)
set -u
cd "$(dirname "$0")/.."
clients=${1:-50} interval=${2:-100ms} rounds=${3:-1}
# HAProxy checks every 200 ms and takes an instance out at its first 503: a second of drain
# delay leaves it five checks to see one.
delay=1s
echo "== rolling restarts behind a load balancer: $clients clients every $interval, $rounds round(s)"
cargo build -q --features smol --example server --example client || exit 1
bin=target/debug/examples
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
. scripts/lib.sh # check, free_port, wait_line
healthy() { # healthy PORT: waits (bounded) until GET /health on PORT answers ok
  for _ in $(seq 100); do [ "$(curl -s -m 1 "http://127.0.0.1:$1/health")" = ok ] && return 0; sleep 0.05; done
  return 1
}

ports=() inst=()
start_instance() { # start_instance I: instance I on ${ports[I]}, its pid in ${inst[I]}
  RUST_LOG=info,ws_echo::server=debug "$bin/server" --addr "127.0.0.1:${ports[$1]}" \
    --drain-delay "$delay" --drain-timeout 5s >>"$work/$lb-$1.out" 2>>"$work/$lb-$1.err" &
  inst[$1]=$!
  pids+=($!)
  healthy "${ports[$1]}"
}

haproxy_config() {
  cat <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout tunnel 60s
  retries 3
  option redispatch
frontend fe
  bind 127.0.0.1:$lb_port
  default_backend instances
backend instances
  balance roundrobin
  option httpchk
  http-check send meth GET uri /health ver HTTP/1.1 hdr Host lb
  http-check expect status 200
  default-server inter 200ms fall 1 rise 2
  server s0 127.0.0.1:${ports[0]} check
  server s1 127.0.0.1:${ports[1]} check
  server s2 127.0.0.1:${ports[2]} check
CONF
}

nginx_config() {
  cat <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  # max_fails=0: no passive marking down. With it, an instance marked failed (a refused
  # connection while it restarts) gets one trial connection per fail_timeout, and is back only
  # when that connection ends: a WebSocket one lasts, and the restarted instance starves (seen:
  # 450 upgrades answered 502 "no live upstreams" in 4 s with all three up). Refused or 503
  # upgrades go to the next instance anyway (proxy_next_upstream).
  upstream instances {
    server 127.0.0.1:${ports[0]} max_fails=0;
    server 127.0.0.1:${ports[1]} max_fails=0;
    server 127.0.0.1:${ports[2]} max_fails=0;
  }
  server {
    listen 127.0.0.1:$lb_port;
    location / {
      proxy_pass http://instances;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_next_upstream error timeout http_503;
      proxy_read_timeout 60s;
    }
  }
}
CONF
}

run_lb() { # run_lb haproxy|nginx
  lb=$1
  ports=("$(free_port)" "$(free_port)" "$(free_port)")
  lb_port=$(free_port)
  for i in 0 1 2; do start_instance "$i" || { check "$lb: instance $i starts" false; return; }; done
  if [ "$lb" = haproxy ]; then
    haproxy_config >"$work/haproxy.cfg"
    haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  else
    nginx_config >"$work/nginx.conf"
    nginx -p "$work" -c "$work/nginx.conf" >"$work/nginx.log" 2>&1 &
  fi
  local lb_pid=$!
  pids+=($lb_pid)
  # Every instance in rotation (two good checks each under HAProxy) before the clients start.
  sleep 1
  healthy "$lb_port" || { check "$lb: answers /health" false; return; }
  local cpids=()
  for c in $(seq "$clients"); do
    "$bin/client" --url "ws://127.0.0.1:$lb_port/ws" --interval "$interval" --backoff-initial 100ms --backoff-max 1s \
      >"$work/$lb-client-$c.out" 2>&1 &
    cpids+=($!)
    pids+=($!)
  done
  sleep 2
  for _ in $(seq "$rounds"); do
    for i in 0 1 2; do
      kill -TERM "${inst[$i]}"
      wait "${inst[$i]}"
      check "$lb: instance $i drained and exited 0" test $? -eq 0
      start_instance "$i" || check "$lb: instance $i starts again" false
      # Back in rotation (HAProxy: two good checks) before the next one goes.
      sleep 1
    done
  done
  # Time for every client to be back (a reconnect that met every instance out of rotation
  # backs off for up to a second) before it is stopped.
  sleep 3
  local codes=0
  for pid in "${cpids[@]}"; do
    kill -INT "$pid"
    wait "$pid" || codes=$((codes + 1))
  done
  check "$lb: every client exits 0" test "$codes" -eq 0
  for out in "$work/$lb"-client-*.out; do
    grep -Eq '^sent [0-9]+, echoed [0-9]+, missing 0, ' "$out" && continue
    echo "-- $(basename "$out"), its last lines:"
    grep -v '^received: ' "$out" | tail -8
    grep '^received: ' "$out" | tail -3
  done
  check "$lb: every client summary says missing 0" \
    test "$(cat "$work/$lb"-client-*.out | grep -Ec '^sent [0-9]+, echoed [0-9]+, missing 0, ')" -eq "$clients"
  # Nothing but echoes, the servers' 1001 and reconnects: no other close, no lost link, no refusal.
  cat "$work/$lb"-client-*.out | grep -Ev '^(connected to |received: Hello World |server closed: 1001 going away$|reconnected to |sent [0-9]+, |rtt p50 )' \
    >"$work/$lb-unexpected.txt"
  check "$lb: no client saw anything but echoes, 1001 and reconnects" test ! -s "$work/$lb-unexpected.txt"
  head -5 "$work/$lb-unexpected.txt"
  local drained
  drained=$(cat "$work/$lb"-[012].err | grep -c 'health check: 503 draining')
  if [ "$lb" = haproxy ]; then
    local down
    # Once per drain (its warning; the same line is logged too): down at a 503, not at a
    # refused connection once the instance has gone.
    down=$(grep -c '^\[WARNING\].* is DOWN, reason: Layer7 wrong status, code: 503' "$work/haproxy.log")
    check "haproxy: its check saw 503 in each of the $((3 * rounds)) drains ($down times marked down at a 503, $drained 503 answers)" \
      test "$down" -eq $((3 * rounds)) -a "$drained" -ge $((3 * rounds))
  fi
  local spread=0
  for i in 0 1 2; do
    grep -q 'new connection' "$work/$lb-$i.err" && spread=$((spread + 1))
  done
  check "$lb: every instance served clients" test "$spread" -eq 3
  if [ "$lb" = nginx ]; then
    echo "nginx: $(grep -c 'no live upstreams' "$work/nginx.err") upgrades met no instance in rotation (502)"
  fi
  # The figures: totals over every client.
  cat "$work/$lb"-client-*.out | sed -n 's/^sent \([0-9]*\), echoed \([0-9]*\), missing \([0-9]*\), resent \([0-9]*\), reconnects \([0-9]*\)$/\1 \2 \3 \4 \5/p' |
    awk -v lb="$lb" -v c="$clients" '{ s += $1; e += $2; m += $3; r += $4; k += $5 }
      END { printf "%s: %d clients, %d sent, %d echoed, %d missing, %d resent, %d reconnects\n", lb, c, s, e, m, r, k }'
  kill -TERM "$lb_pid" "${inst[@]}" 2>/dev/null
  wait "$lb_pid" "${inst[@]}" 2>/dev/null
}

for lb in ${LOAD_BALANCERS:-haproxy nginx}; do
  if ! command -v "$lb" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$lb" ]; then
    echo "MISSING TOOL: $lb (scripts/test.sh installs it as root)"
    failed=$((failed + 1))
    continue
  fi
  PATH=$PATH:/usr/sbin run_lb "$lb"
done
echo "rolling restarts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
