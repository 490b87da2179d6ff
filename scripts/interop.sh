#!/usr/bin/env bash
# Interoperability with real third-party peers, every byte checked by the peer scripts in
# interop/: Chromium (the server's page, driven by chromedriver), Python's websockets, Node's ws
# (and the first two against the test target's ?info and ?delay, the page's controls too)
# and the Go seed against our server example; Chromium over HTTP/2 (RFC 8441) against
# ws-echo mounted in axum; our client example against Python's, Node's and
# the Go seed's servers; and our server behind nginx, whose proxy_read_timeout a heartbeat must
# beat (shortened to 2 s here, with a 500 ms ping, to keep the check fast; the defaults are
# 60 s and 20 s). scripts/test.sh installs the tools; a tool that is missing is reported
# loudly and fails the run.
set -u
cd "$(dirname "$0")/.."
cargo build -q --features smol,tls --examples || exit 1
bin=target/debug/examples
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
. scripts/lib.sh # check, free_port, wait_line
need() { # need WHAT COMMAND...: the tool must be there
  "${@:2}" >/dev/null 2>&1 || { echo "MISSING TOOL: $1 (scripts/test.sh installs it as root)"; failed=$((failed + 1)); return 1; }
}
start() { # start NAME COMMAND...: runs a server in the background, output in $work/NAME.log
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}
client_ok() { # client_ok SUMMARY-COUNT ARGS...: our client example, checked by its summary line
  local n=$1; shift
  timeout 30 "$bin/client" --interval 20ms --count "$n" "$@" >"$work/client.out" 2>&1 &&
    grep -qx "sent $n, echoed $n, missing 0, resent 0, reconnects 0" "$work/client.out"
}

# Test payloads for our client: 64 KiB of a two-byte character, and 1 MiB of binary.
python3 -c 'import sys; sys.stdout.write("é" * 32768)' >"$work/utf8.txt"
python3 -c 'import random, sys; r = random.Random(6455); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(1 << 20)))' >"$work/binary.bin"

echo "== third-party clients against our server example"
start ours "$bin/server" --addr 127.0.0.1:0
wait_line "$work/ours.log" '^serving ws://' || { echo "FAILED: our server did not start"; exit 1; }
url=$(sed -n 's/^serving \(ws:[^ ]*\).*/\1/p' "$work/ours.log")
http_url=${url/ws:/http:}
http_url=${http_url%/ws}/
if need "python websockets" python3 -c 'import websockets'; then
  check "python websockets client, permessage-deflate" env DEFLATE=1 python3 interop/python_client.py "$url"
fi
if need "node ws (npm ci in interop/node)" node -e 'require("./interop/node/node_modules/ws")'; then
  check "node ws client, permessage-deflate" env DEFLATE=1 node interop/node/client.js "$url"
fi
if need "chromium, chromedriver, selenium" python3 -c 'import selenium; import shutil, sys; sys.exit(not (shutil.which("chromium") and shutil.which("chromedriver")))'; then
  check "chromium on the server's page, permessage-deflate" env DEFLATE=1 python3 interop/chromium.py "$http_url"
  start protocols "$bin/server" --addr 127.0.0.1:0 --protocol chat --protocol echo
  wait_line "$work/protocols.log" '^serving ws://'
  protocols_url=$(sed -n 's/^serving \(ws:[^ ]*\).*/\1/p' "$work/protocols.log")
  protocols_page=${protocols_url/ws:/http:}
  check "subprotocols from python websockets and chromium" \
    python3 interop/subprotocols.py "$protocols_url" "${protocols_page%/ws}/"
  start target "$bin/server" --addr 127.0.0.1:0 --test-target
  wait_line "$work/target.log" '^serving ws://'
  target_url=$(sed -n 's/^serving \(ws:[^ ]*\).*/\1/p' "$work/target.log")
  check "the test target's ?info and ?delay from python websockets and chromium" \
    python3 interop/test_target.py "$target_url"
  # The page names its icon inline: the browser asks for no /favicon.ico (nothing else here
  # asks for a path the server does not serve).
  check "chromium asked for no path the server lacks" test "$(grep -c 'refused with HTTP 404' "$work/ours.log")" -eq 0
fi
if need "go seed" sh ../shared/anchors/go-seed/build.sh "$work/go"; then
  go_addr=${url#ws://}
  timeout 5 "$work/go/seed-client" -addr "${go_addr%/ws}" -i 20ms >"$work/go-client.out" 2>&1
  check "go seed client gets three echoes" test "$(grep -c ' received: Hello World$' "$work/go-client.out")" -ge 3
  # The seed's client only sends "Hello World": a client of our own on the same library does
  # the full exchange.
  (cd interop/go && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GOCACHE:-/tmp/go-build-cache} \
    go build -o "$work/go/x-net-client" client.go) &&
    check "go x/net/websocket client" timeout 20 "$work/go/x-net-client" "$url"
fi

echo "== our client example against third-party servers"
python_port=$(free_port) node_port=$(free_port) go_port=$(free_port)
start python-server python3 interop/python_server.py 127.0.0.1 "$python_port"
start node-server node interop/node/server.js 127.0.0.1 "$node_port"
[ -x "$work/go/seed-server" ] && start go-server "$work/go/seed-server" -a "127.0.0.1:$go_port" -q
wait_line "$work/python-server.log" listening
wait_line "$work/node-server.log" listening
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$go_port") 2>/dev/null && break; sleep 0.05; done
for peer in "python:$python_port" "node:$node_port" "go:$go_port"; do
  name=${peer%%:*} addr=127.0.0.1:${peer#*:}
  check "our client and the $name server: short text" client_ok 3 --url "ws://$addr/ws"
  check "our client and the $name server: 64 KiB of é" client_ok 1 --url "ws://$addr/ws" --message-file "$work/utf8.txt"
  # The Go seed (x/net/websocket's Message codec with a string) echoes binary as text.
  [ "$name" = go ] && continue
  check "our client and the $name server: 1 MiB binary" client_ok 1 --url "ws://$addr/ws" --binary --message-file "$work/binary.bin"
done
# permessage-deflate, offered by our client: Python websockets' server agrees by default, Node
# ws's when asked.
client_deflate_ok() {
  client_ok "$@" --deflate && grep -q '^connected to .*, extensions permessage-deflate' "$work/client.out"
}
deflate_port=$(free_port)
start node-deflate node interop/node/server.js 127.0.0.1 "$deflate_port" deflate
wait_line "$work/node-deflate.log" listening
for peer in "python:$python_port" "node:$deflate_port"; do
  name=${peer%%:*} addr=127.0.0.1:${peer#*:}
  check "our client and the $name server, permessage-deflate: 64 KiB of é" \
    client_deflate_ok 2 --url "ws://$addr/ws" --message-file "$work/utf8.txt"
  check "our client and the $name server, permessage-deflate: 1 MiB binary" \
    client_deflate_ok 1 --url "ws://$addr/ws" --binary --message-file "$work/binary.bin"
done

echo "== wss:// (a test CA made with openssl)"
if need openssl openssl version; then
  (
    cd "$work" &&
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=ws-echo interop CA" &&
      openssl req -newkey rsa:2048 -nodes -keyout key.pem -out server.csr -subj "/CN=localhost" &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem \
        -days 2 -extfile ext.cnf
  ) >"$work/openssl.log" 2>&1 || { echo "FAILED: making certificates"; cat "$work/openssl.log"; }
  start secure "$bin/server" --addr 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
  wait_line "$work/secure.log" '^serving wss://'
  port=$(sed -n 's/^serving wss:\/\/[^:]*:\([0-9]*\)\/.*/\1/p' "$work/secure.log")
  check "our client over wss:// trusting the CA" client_ok 3 --url "wss://localhost:$port/ws" --ca "$work/ca.pem"
  timeout 20 "$bin/client" --url "wss://localhost:$port/ws" --count 1 >"$work/untrusted.out" 2>&1
  check "our client refuses an untrusted certificate, naming why" \
    grep -qx "error: wss://localhost:$port/ws: TLS: invalid peer certificate: UnknownIssuer" "$work/untrusted.out"
  if python3 -c 'import websockets' 2>/dev/null; then
    check "python websockets client over wss://" python3 interop/python_client.py "wss://localhost:$port/ws" "$work/ca.pem"
  fi
  if python3 -c 'import selenium' 2>/dev/null && command -v chromium >/dev/null; then
    check "chromium on the server's page over https/wss" python3 interop/chromium.py "https://localhost:$port/"
    # WebSockets over HTTP/2 (RFC 8441): ws-echo's EchoService in an axum app served over TLS
    # with h2, which Chromium uses for wss:// on the connection that loaded the page.
    cargo build -q -p frameworks --example embed_axum_h2 || exit 1
    start h2 target/debug/examples/embed_axum_h2 127.0.0.1:0 "$work/cert.pem" "$work/key.pem"
    wait_line "$work/h2.log" '^serving https://'
    h2_port=$(sed -n 's|^serving https://[^:]*:\([0-9]*\)/.*|\1|p' "$work/h2.log")
    check "chromium over HTTP/2: an extended CONNECT on the page's connection, echoes, Close 1000" \
      python3 interop/chromium_h2.py "https://localhost:$h2_port/"
    check "chromium over HTTP/2: the test target's page and its selftest" \
      python3 interop/chromium.py "https://localhost:$h2_port/"
  fi
  "$bin/server" --addr 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/ca.key" >"$work/badkey.out" 2>&1
  status=$?
  check "a key that does not match the certificate: exit 2" test "$status" -eq 2
  check "... with one line naming it" grep -qx "error: TLS: the key does not match the certificate in $work/cert.pem" "$work/badkey.out"
fi

echo "== behind nginx (proxy_read_timeout 2s)"
if need nginx nginx -v; then
  # Not called in $(...): its pid must reach the parent shell's list, for the trap to end it.
  run_nginx() { # run_nginx NAME UPSTREAM-PORT: nginx on a free port ($port), proxying /ws upstream
    port=$(free_port)
    mkdir -p "$work/$1"
    cat >"$work/$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/$1; proxy_temp_path $work/$1; fastcgi_temp_path $work/$1;
  uwsgi_temp_path $work/$1; scgi_temp_path $work/$1;
  server {
    listen 127.0.0.1:$port;
    location /ws {
      proxy_pass http://127.0.0.1:$2;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 2s;
      proxy_send_timeout 2s;
    }
  }
}
CONF
    start "$1" nginx -p "$work/$1" -c "$work/$1/nginx.conf"
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  }
  idle_client() { # idle_client NAME URL: one message, then silence (client heartbeat off), 5 s
    "$bin/client" --url "$2" --interval 1h --ping-interval off --backoff-initial 100ms >"$work/$1.out" 2>&1 &
    local pid=$!
    sleep 5 # the idle period: longer than twice nginx's 2 s read timeout
    kill -INT "$pid"
    wait "$pid"
  }
  for heartbeat in on off; do
    if [ "$heartbeat" = on ]; then ping=500ms; else ping=off; fi
    start "upstream-$heartbeat" "$bin/server" --addr 127.0.0.1:0 --ping-interval "$ping"
    wait_line "$work/upstream-$heartbeat.log" '^serving ws://'
    upstream=$(sed -n 's/^serving ws:\/\/[^:]*:\([0-9]*\)\/.*/\1/p' "$work/upstream-$heartbeat.log")
    run_nginx "nginx-$heartbeat" "$upstream"
    idle_client "idle-$heartbeat" "ws://127.0.0.1:$port/ws"
  done
  check "with the heartbeat, an idle connection outlives nginx's timeout" \
    grep -qx 'sent 1, echoed 1, missing 0, resent 0, reconnects 0' "$work/idle-on.out"
  check "without it, nginx cuts the idle connection" grep -q '^link down' "$work/idle-off.out"
  check "and the client reconnects through nginx" grep -q '^reconnected to' "$work/idle-off.out"
fi

echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
