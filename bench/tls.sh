#!/usr/bin/env bash
# TLS benchmark: our registry over TLS (OpenSSL engine, then the JDK's) vs nginx over TLS with the
# same certificate, on loopback. Prints a Markdown section on stdout. See bench/README.md (TLS).
#
#   bench/tls.sh            256 MiB blob, wrk 10 s (about 3 minutes after the build)
#   bench/tls.sh --smoke    tiny sizes, a few seconds
#
# run.sh runs it after its own measurements (and alone with --only tls).
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
REGISTRY="$root/registry"
SMOKE=0
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    *) echo "usage: bench/tls.sh [--smoke]" >&2; exit 2 ;;
  esac
done
if [ "$SMOKE" = 1 ]; then
  BLOB_BYTES=$((1 << 20)); ROUNDS=1; WRK_ARGS=(-t2 -c4 -d1s); WRK_WARMUP_S=0; CURL_MAX=60
else
  BLOB_BYTES=$((256 << 20)); ROUNDS=3; WRK_ARGS=(-t2 -c64 -d10s); WRK_WARMUP_S=15; CURL_MAX=600
fi
ACCEPT='application/vnd.oci.image.manifest.v1+json'
# Our registry twice: with OpenSSL (netty-tcnative, the default) and with it disabled (the JDK's).
SERVERS=(openssl jdk nginx)

log() { printf '[bench tls %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
PATH="$PATH:/usr/sbin:/sbin"
for tool in nginx wrk curl openssl python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done
source "$root/scripts/java-env"
"$REGISTRY" --version >/dev/null || die "our registry does not build or start"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-bench-tls.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/nginx/root/v2/bench/blobs" "$WORK/nginx/root/v2/bench/manifests" "$WORK/nginx/tmp"
PID=
cleanup() {
  local rc=$?
  [ -z "$PID" ] || { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  if [ "$rc" = 0 ]; then rm -rf "$WORK"; else log "exit $rc; logs in $WORK/logs"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BASE="https://127.0.0.1:$port"

# One EC P-256 certificate for every server; ours reads the key in openssl's SEC1 form.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
openssl ec -in "$WORK/key.pem" -out "$WORK/key-sec1.pem" 2>/dev/null
CURL=(curl -sS --cacert "$WORK/cert.pem" --max-time "$CURL_MAX")

python3 "$here/gen_content.py" image "$WORK/content" "$BLOB_BYTES"
# shellcheck disable=SC1091
source "$WORK/content/digests"
BLOB="$WORK/content/blob"
cp "$BLOB" "$WORK/nginx/root/v2/bench/blobs/$BLOB_DIGEST"
cp "$WORK/content/manifest.json" "$WORK/nginx/root/v2/bench/manifests/latest"
chmod -R a+rX "$WORK/nginx/root"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/logs/nginx-error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    root $WORK/nginx/root;
    location = /v2/bench/manifests/latest { default_type $MANIFEST_TYPE; }
  }
}
EOF

start() { # server
  case $1 in
    openssl | jdk)
      local opts=${REGISTRY_JAVA_OPTS:-}
      [ "$1" = jdk ] && opts="$opts -Dio.netty.handler.ssl.noOpenSsl=true"
      env REGISTRY_HTTP_ADDR="127.0.0.1:$port" REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$WORK/store" \
        REGISTRY_HTTP_TLS_CERTIFICATE="$WORK/cert.pem" REGISTRY_HTTP_TLS_KEY="$WORK/key-sec1.pem" \
        REGISTRY_LOG_LEVEL=info REGISTRY_JAVA_OPTS="$opts" "$REGISTRY" serve >>"$WORK/logs/$1.log" 2>&1 &
      PID=$! ;;
    nginx)
      nginx -e "$WORK/logs/nginx-error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >>"$WORK/logs/nginx.log" 2>&1 &
      PID=$! ;;
  esac
  local deadline=$(( $(date +%s) + 120 ))
  until "${CURL[@]}" -o /dev/null --max-time 2 "$BASE/v2/bench/manifests/latest" 2>/dev/null \
      || "${CURL[@]}" -o /dev/null --max-time 2 "$BASE/v2/" 2>/dev/null; do
    kill -0 "$PID" 2>/dev/null || { tail -20 "$WORK/logs/$1.log" >&2; die "$1 exited at start-up"; }
    [ "$(date +%s)" -lt "$deadline" ] || die "$1 did not answer on $BASE"
    sleep 0.2
  done
}
stop() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}
push() { # our registry: the blob, the config and the manifest, over TLS
  local code
  local files=("$BLOB" "$WORK/content/config.json") digests=("$BLOB_DIGEST" "$CONFIG_DIGEST") i
  for i in 0 1; do
    code=$("${CURL[@]}" -o "$WORK/logs/push.out" -X POST -H 'Expect:' --data-binary @"${files[$i]}" \
      -w '%{http_code}' "$BASE/v2/bench/blobs/uploads/?digest=${digests[$i]}") || die "push failed"
    [ "$code" = 201 ] || die "push: HTTP $code $(cat "$WORK/logs/push.out")"
  done
  code=$("${CURL[@]}" -o /dev/null -X PUT -H "Content-Type: $MANIFEST_TYPE" --data-binary @"$WORK/content/manifest.json" \
    -w '%{http_code}' "$BASE/v2/bench/manifests/latest") || die "manifest push failed"
  [ "$code" = 201 ] || die "manifest push: HTTP $code"
}
max() { awk -v a="${1:-0}" -v b="$2" 'BEGIN { print (b + 0 > a + 0) ? b : a }'; }
get_one() { # -> MB/s
  local out code size speed
  out=$("${CURL[@]}" -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' "$BASE/v2/bench/blobs/$BLOB_DIGEST") \
    || die "blob GET failed"
  read -r code size speed <<<"$out"
  [ "$code" = 200 ] && [ "$size" = "$BLOB_BYTES" ] || die "blob GET gave HTTP $code, $size bytes"
  awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }'
}
get_parallel() { # n -> MB/s (total bytes / wall time)
  local n=$1 t0 i pids=() code size
  t0=$(date +%s%N)
  for i in $(seq 1 "$n"); do
    "${CURL[@]}" -o /dev/null -w '%{http_code} %{size_download}\n' "$BASE/v2/bench/blobs/$BLOB_DIGEST" >"$WORK/logs/par-$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || die "a parallel blob GET failed"; done
  for i in $(seq 1 "$n"); do
    read -r code size <"$WORK/logs/par-$i"
    [ "$code" = 200 ] && [ "$size" = "$BLOB_BYTES" ] || die "parallel GET gave HTTP $code, $size bytes"
  done
  awk -v b=$((n * BLOB_BYTES)) -v t=$(( $(date +%s%N) - t0 )) 'BEGIN { printf "%.1f", b / (t / 1e9) / 1e6 }'
}
wrk_manifest() { # server -> requests/s
  local out="$WORK/logs/wrk-$1.txt" url="$BASE/v2/bench/manifests/latest" rps
  if [ "$WRK_WARMUP_S" != 0 ]; then
    timeout 120 wrk "${WRK_ARGS[@]:0:2}" -d"${WRK_WARMUP_S}s" -H "Accept: $ACCEPT" "$url" >"$out.warmup" 2>&1 || die "$1: wrk warm-up failed"
  fi
  timeout 120 wrk "${WRK_ARGS[@]}" --timeout 10s -H "Accept: $ACCEPT" "$url" >"$out" 2>&1 || die "$1: wrk failed: $(cat "$out")"
  grep -q 'Non-2xx or 3xx responses' "$out" && die "$1: wrk got non-2xx responses: $(cat "$out")"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  [ -n "$rps" ] || die "$1: wrk printed no Requests/sec: $(cat "$out")"
  printf '%.0f' "$rps"
}

declare -A R
for s in "${SERVERS[@]}"; do
  log "$s: starting on $BASE"
  start "$s"
  [ "$s" = nginx ] || { [ -n "$(ls "$WORK/store" 2>/dev/null)" ] || push; }
  got=$("${CURL[@]}" -H "Accept: $ACCEPT" "$BASE/v2/bench/manifests/latest" | sha256sum | cut -d' ' -f1)
  [ "sha256:$got" = "$MANIFEST_DIGEST" ] || die "$s: manifest GET gave other bytes"
  case $s in
    openssl) grep -q 'TLS with OpenSSL' "$WORK/logs/$s.log" || die "ours did not pick OpenSSL: $(grep TLS "$WORK/logs/$s.log")" ;;
    jdk) grep -q "TLS with the JDK" "$WORK/logs/$s.log" || die "ours did not fall back to the JDK" ;;
  esac
  log "$s: blob GET, 1 and 8 clients, best of $ROUNDS; manifest GET (wrk ${WRK_ARGS[*]})"
  for _ in $(seq 1 "$ROUNDS"); do
    R[get1_$s]=$(max "${R[get1_$s]:-}" "$(get_one)")
    R[get8_$s]=$(max "${R[get8_$s]:-}" "$(get_parallel 8)")
  done
  R[wrk_$s]=$(wrk_manifest "$s")
  stop
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
echo
echo "## TLS$([ "$SMOKE" = 1 ] && echo ' (smoke mode: numbers meaningless)')"
echo
echo "Blob ($BLOB_BYTES bytes) and manifest GET over TLS 1.3 (curl, wrk: OpenSSL clients), one server at a time on"
echo "the same port and EC P-256 certificate: ours with netty-tcnative's OpenSSL (BoringSSL, the default), ours with"
echo "the JDK's engine (\`-Dio.netty.handler.ssl.noOpenSsl=true\`), nginx (\`ssl\`, userspace OpenSSL, no kTLS)."
echo
echo "| metric | ours, OpenSSL | ours, JDK | nginx | ours (OpenSSL) / nginx | OpenSSL / JDK |"
echo "| --- | --- | --- | --- | --- | --- |"
for m in get1 get8 wrk; do
  case $m in
    get1) label="blob GET, 1 client (MB/s, best of $ROUNDS)" ;;
    get8) label="blob GET, 8 clients (MB/s total, best of $ROUNDS)" ;;
    wrk) label="manifest GET by tag (req/s, wrk ${WRK_ARGS[*]})" ;;
  esac
  echo "| $label | ${R[${m}_openssl]} | ${R[${m}_jdk]} | ${R[${m}_nginx]} | $(ratio "${R[${m}_openssl]}" "${R[${m}_nginx]}") | $(ratio "${R[${m}_openssl]}" "${R[${m}_jdk]}") |"
done
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
