#!/usr/bin/env bash
# Benchmark: this registry vs Docker's registry:2 (Debian's docker-registry) vs nginx serving the
# same files statically, all on loopback with the same content. See bench/README.md.
#
#   bench/run.sh            full run (256 MiB blob, wrk 10 s), writes bench/results.md
#   bench/run.sh --smoke    tiny sizes, a few seconds; writes results.md into its work dir only
#   bench/run.sh --only tls only the TLS section (bench/tls.sh), printed; with --smoke, tiny
#
# Environment: BENCH_OUT=FILE (where results go), BENCH_KEEP=1 (keep the whole work dir),
# REGISTRY_JAVA_OPTS (passed to our registry's JVM by its launcher).
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
REGISTRY="$root/registry"
COMMAND="bench/run.sh${*:+ $*}"

SMOKE=0
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --only) [ "${2:-}" = tls ] || { echo "usage: bench/run.sh [--smoke] [--only tls]" >&2; exit 2; }; ONLY=tls; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: bench/run.sh [--smoke] [--only tls]" >&2; exit 2 ;;
  esac
  shift
done
SMOKE_FLAG=(); [ "$SMOKE" = 0 ] || SMOKE_FLAG=(--smoke)
[ "$ONLY" != tls ] || exec "$here/tls.sh" "${SMOKE_FLAG[@]}"

if [ "$SMOKE" = 1 ]; then
  BLOB_BYTES=$((1 << 20))          # 1 MiB
  CHUNKS=4                         # 4 chunks of 256 KiB
  LAYER_BYTES=$((64 << 10))        # skopeo image: 3 platforms x 3 layers x 64 KiB
  LAYERS=3
  WRK_ARGS=(-t2 -c4 -d1s)
  LOAD_ARGS=(2 4 0.5)              # HttpLoad: threads connections seconds
  WARMUP_S=0.1                     # HttpLoad's warm-up (s)
  WRK_WARMUP_S=0                   # a wrk run before each measured one, not counted (s)
  ROUNDS=2                         # best of 2 (exercises the fresh-repository logic)
  SKOPEO_ROUNDS=1
  PULLS=64
  CURL_MAX=60
else
  BLOB_BYTES=$((256 << 20))        # 256 MiB
  CHUNKS=4                         # 4 chunks of 64 MiB
  LAYER_BYTES=$((8 << 20))         # 3 platforms x 3 layers x 8 MiB
  LAYERS=3
  WRK_ARGS=(-t2 -c64 -d10s)
  LOAD_ARGS=(2 64 10)
  WARMUP_S=2
  WRK_WARMUP_S=15                  # the JIT compiles under load on the same 2 cores; every server gets the same
  ROUNDS=5                         # best of 5: this VM's disk and CPU vary from second to second
  SKOPEO_ROUNDS=5
  PULLS=64
  CURL_MAX=600
fi
CHUNK_BYTES=$((BLOB_BYTES / CHUNKS))
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'
RUN_ID="$(date +%Y%m%d%H%M%S)-$$"
SERVERS=(ours registry2 nginx)
REGISTRIES=(ours registry2)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- tools
PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them (apt-get install -y ${missing[*]}) or run as root"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
DOCKER_REGISTRY=$(dpkg -L docker-registry 2>/dev/null | grep -m1 '/bin/docker-registry$' || true)
[ -x "${DOCKER_REGISTRY:-}" ] || DOCKER_REGISTRY=$(command -v docker-registry)
NGINX=$(command -v nginx)

# The JDK 21+ the project uses, for the SHA-256 floor (the same one the launcher runs).
source "$root/scripts/java-env"

# Build our registry now (the launcher builds on first use), so no build lands in a measurement.
JAVA_CLASSES=$(mktemp -d "${TMPDIR:-/tmp}/registry-bench-classes.XXXXXX")
trap 'rm -rf "$JAVA_CLASSES"' EXIT
"$JAVA_HOME/bin/javac" -d "$JAVA_CLASSES" "$here/Sha256Throughput.java" "$here/HttpLoad.java" || die "javac failed"
log "building our registry if needed ($REGISTRY)"
build_t0=$(date +%s)
"$REGISTRY" --version >/dev/null || die "our registry does not build or start"
log "build step took $(( $(date +%s) - build_t0 )) s"
START_NS=$(date +%s%N)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- work dir, cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-bench.XXXXXX")
chmod 755 "$WORK"   # nginx workers run as an unprivileged user when started as root
mkdir -p "$WORK/logs" "$WORK/content" "$WORK/store-ours" "$WORK/store-registry2" "$WORK/nginx/root" \
  "$WORK/nginx/tmp" "$WORK/skopeo-home" "$WORK/chunks" "$WORK/curl"
declare -A PID BASE
BG_PIDS=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  rm -rf "$JAVA_CLASSES"
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for s in "${SERVERS[@]}"; do
    p=${PID[$s]:-}
    [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
  done
  for s in "${SERVERS[@]}"; do
    p=${PID[$s]:-}
    [ -n "$p" ] || continue
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    log "work dir kept: $WORK"
  else
    # Keep only the logs and the results (small); drop the content and the stores.
    rm -rf "$WORK/content" "$WORK/store-ours" "$WORK/store-registry2" "$WORK/nginx/root" \
      "$WORK/chunks" "$WORK"/layout-* "$WORK"/pull-* "$WORK/skopeo-home" 2>/dev/null || true
    [ "$SMOKE" = 1 ] || [ "$rc" != 0 ] || rm -rf "$WORK"
  fi
  [ "$rc" = 0 ] || log "exit $rc; logs in $WORK/logs"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---------------------------------------------------------------- content
log "generating content in $WORK (blob $BLOB_BYTES bytes)"
python3 "$here/gen_content.py" image "$WORK/content" "$BLOB_BYTES"
# shellcheck disable=SC1091
source "$WORK/content/digests"
BLOB="$WORK/content/blob"
for i in $(seq 0 "$SKOPEO_ROUNDS"); do
  python3 "$here/gen_content.py" layout "$WORK/layout-$i" "$LAYER_BYTES" "$LAYERS" v1
done
(cd "$WORK/chunks" && split -a 2 -d -b "$CHUNK_BYTES" "$BLOB" chunk-)
[ "$(ls "$WORK/chunks" | wc -l)" = "$CHUNKS" ] || die "split did not give $CHUNKS chunks"
echo '{}' >"$WORK/skopeo-auth.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$WORK/skopeo-policy.json"

# nginx's static tree, laid out like the API paths.
mkdir -p "$WORK/nginx/root/v2/bench/blobs" "$WORK/nginx/root/v2/bench/manifests"
ln "$BLOB" "$WORK/nginx/root/v2/bench/blobs/$BLOB_DIGEST" 2>/dev/null || cp "$BLOB" "$WORK/nginx/root/v2/bench/blobs/$BLOB_DIGEST"
cp "$WORK/content/config.json" "$WORK/nginx/root/v2/bench/blobs/$CONFIG_DIGEST"
cp "$WORK/content/manifest.json" "$WORK/nginx/root/v2/bench/manifests/latest"
chmod -R a+rX "$WORK/nginx/root" "$WORK/content"

# ---------------------------------------------------------------- servers
PORT_OURS=$(free_port); PORT_R2=$(free_port); PORT_NGINX=$(free_port)
while [ "$PORT_R2" = "$PORT_OURS" ]; do PORT_R2=$(free_port); done
while [ "$PORT_NGINX" = "$PORT_OURS" ] || [ "$PORT_NGINX" = "$PORT_R2" ]; do PORT_NGINX=$(free_port); done
BASE[ours]="http://127.0.0.1:$PORT_OURS"
BASE[registry2]="http://127.0.0.1:$PORT_R2"
BASE[nginx]="http://127.0.0.1:$PORT_NGINX"

cat >"$WORK/registry2.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $WORK/store-registry2
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT_R2
EOF

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
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$PORT_NGINX;
    root $WORK/nginx/root;
    location /v2/bench/blobs/ {
      add_header Docker-Content-Digest \$uri_digest;
    }
    location = /v2/bench/manifests/latest {
      default_type $MANIFEST_TYPE;
      add_header Docker-Content-Digest $MANIFEST_DIGEST;
    }
  }
  map \$uri \$uri_digest { ~/(?<d>sha256:[0-9a-f]+)\$ \$d; default ""; }
}
EOF

# Environment variables named REGISTRY_* configure both registries; registry:2 gets none of ours.
unset_registry_env=()
for v in $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/\1/p'); do unset_registry_env+=(-u "$v"); done

start_server() { # server
  case $1 in
    ours)
      log "starting our registry on ${BASE[ours]}"
      env REGISTRY_HTTP_ADDR="127.0.0.1:$PORT_OURS" REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$WORK/store-ours" \
        REGISTRY_LOG_LEVEL=warn "$REGISTRY" serve >>"$WORK/logs/ours.log" 2>&1 &
      PID[ours]=$! ;;
    registry2)
      log "starting registry:2 ($DOCKER_REGISTRY) on ${BASE[registry2]}"
      env "${unset_registry_env[@]}" "$DOCKER_REGISTRY" serve "$WORK/registry2.yml" >>"$WORK/logs/registry2.log" 2>&1 &
      PID[registry2]=$! ;;
    nginx)
      log "starting nginx ($NGINX) on ${BASE[nginx]}"
      "$NGINX" -e "$WORK/logs/nginx-error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >>"$WORK/logs/nginx.log" 2>&1 &
      PID[nginx]=$! ;;
  esac
}
stop_server() { # server: TERM, then KILL after 10 s
  local p=${PID[$1]}
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  PID[$1]=
}
wait_up() { # server url timeout_s
  local s=$1 url=$2 deadline=$(( $(date +%s) + $3 )) code
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "${PID[$s]}" 2>/dev/null || { tail -20 "$WORK/logs/$s.log" >&2; die "$s exited at start-up"; }
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$url" || true)
    [ "$code" != 000 ] && [ -n "$code" ] && return 0
    sleep 0.1
  done
  die "$s did not answer on $url within $3 s"
}
wait_server() { # server
  case $1 in
    ours)
      wait_up ours "${BASE[ours]}/v2/" 120
      # Our launcher execs java, so the pid is the JVM's; check it is.
      [ "$(cat /proc/"${PID[ours]}"/comm)" = java ] || die "our registry's pid ${PID[ours]} is not java" ;;
    registry2) wait_up registry2 "${BASE[registry2]}/v2/" 30 ;;
    nginx) wait_up nginx "${BASE[nginx]}/" 30 ;;
  esac
}
for s in "${SERVERS[@]}"; do start_server "$s"; done
for s in "${SERVERS[@]}"; do wait_server "$s"; done
log "servers up: ours pid ${PID[ours]}, registry2 pid ${PID[registry2]}, nginx pid ${PID[nginx]}"

# ---------------------------------------------------------------- push the same content
location_of() { # base headers-file -> absolute Location
  local loc
  loc=$(tr -d '\r' <"$2" | sed -n 's/^[Ll]ocation: *//p' | tail -1)
  [ -n "$loc" ] || return 1
  case "$loc" in http://* | https://*) echo "$loc" ;; /*) echo "$1$loc" ;; *) echo "$1/$loc" ;; esac
}
with_digest() { # url digest -> url with digest= added to its query
  case "$1" in *\?*) echo "$1&digest=$2" ;; *) echo "$1?digest=$2" ;; esac
}
# The upload functions print the sum of curl's time_total over their requests: the transfer and
# the server's answer, not curl's reading of the file into memory (--data-binary) nor its start-up.
# Monolithic upload in one request: POST /blobs/uploads/?digest= with the body (OCI spec; registry:2
# 2.8 does not implement it: it ignores the body and answers 202 with a session).
post_digest() { # base repo file digest -> seconds
  local out code t
  out=$(curl -sS -o "$WORK/curl/up.out" --max-time "$CURL_MAX" -X POST -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$3" -w '%{http_code} %{time_total}' \
    "$1/v2/$2/blobs/uploads/?digest=$4") || die "POST ?digest= of $3 to $1/$2: curl failed"
  read -r code t <<<"$out"
  [ "$code" = 201 ] || die "POST ?digest= of $3 to $1/$2: HTTP $code $(head -c 500 "$WORK/curl/up.out")"
  echo "$t"
}
# Monolithic upload in two requests, as docker and registry:2 do it: POST a session, PUT ?digest=
# with the whole body.
post_put() { # base repo file digest -> seconds
  local out code loc t1 t2
  out=$(curl -sS -o /dev/null -D "$WORK/curl/h" --max-time 60 -X POST -w '%{http_code} %{time_total}' \
    "$1/v2/$2/blobs/uploads/") || die "upload POST to $1/$2 failed"
  read -r code t1 <<<"$out"
  [ "$code" = 202 ] || die "upload POST to $1/$2 gave HTTP $code"
  loc=$(location_of "$1" "$WORK/curl/h") || die "upload POST to $1/$2 gave no Location"
  out=$(curl -sS -o "$WORK/curl/up.out" --max-time "$CURL_MAX" -X PUT -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' --data-binary @"$3" -w '%{http_code} %{time_total}' \
    "$(with_digest "$loc" "$4")") || die "upload PUT of $3 to $1/$2 failed"
  read -r code t2 <<<"$out"
  [ "$code" = 201 ] || die "upload PUT of $3 to $1/$2 gave HTTP $code $(head -c 500 "$WORK/curl/up.out")"
  awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.6f", a + b }'
}
push_blob() { # server repo file digest
  if [ "$1" = ours ]; then post_digest "${BASE[$1]}" "$2" "$3" "$4" >/dev/null; else post_put "${BASE[$1]}" "$2" "$3" "$4" >/dev/null; fi
}
for s in "${REGISTRIES[@]}"; do
  log "pushing the content to $s"
  push_blob "$s" bench "$BLOB" "$BLOB_DIGEST"
  push_blob "$s" bench "$WORK/content/config.json" "$CONFIG_DIGEST"
  code=$(curl -sS -o "$WORK/curl/push.out" --max-time 60 -X PUT -H "Content-Type: $MANIFEST_TYPE" \
    --data-binary @"$WORK/content/manifest.json" -w '%{http_code}' "${BASE[$s]}/v2/bench/manifests/latest") \
    || die "manifest push to $s: curl failed"
  [ "$code" = 201 ] || die "manifest push to $s: HTTP $code $(head -c 500 "$WORK/curl/push.out")"
done

# Every server answers the same bytes.
for s in "${SERVERS[@]}"; do
  got=$(curl -sS -f --max-time 30 -H "Accept: $ACCEPT" "${BASE[$s]}/v2/bench/manifests/latest" | sha256sum | cut -d' ' -f1) \
    || die "$s: manifest GET failed"
  [ "sha256:$got" = "$MANIFEST_DIGEST" ] || die "$s: manifest GET gave other bytes"
  code=$(curl -sS -o /dev/null -I --max-time 30 -w '%{http_code}' "${BASE[$s]}/v2/bench/blobs/$BLOB_DIGEST") || die "$s: HEAD failed"
  [ "$code" = 200 ] || die "$s: blob HEAD gave HTTP $code"
  got=$(curl -sS -f --max-time "$CURL_MAX" "${BASE[$s]}/v2/bench/blobs/$BLOB_DIGEST" | sha256sum | cut -d' ' -f1) \
    || die "$s: blob GET failed"
  [ "sha256:$got" = "$BLOB_DIGEST" ] || die "$s: blob GET gave other bytes"
done
log "content verified on all three servers"

# ---------------------------------------------------------------- helpers for numbers
declare -A R
: >"$WORK/notes"
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { if (t <= 0) print "0"; else printf "%.1f", b / t / 1e6 }'; }
max() { awk -v a="${1:-0}" -v b="$2" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }'; }
min() { awk -v a="${1:-}" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
now_s() { awk -v n="$(date +%s%N)" 'BEGIN { printf "%.6f", n / 1e9 }'; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.6f", b - a }'; }

# ---------------------------------------------------------------- blob GET
get_one() { # server -> MB/s
  local out code size speed
  out=$(curl -sS -o /dev/null --max-time "$CURL_MAX" -w '%{http_code} %{size_download} %{speed_download}' \
    "${BASE[$1]}/v2/bench/blobs/$BLOB_DIGEST") || die "$1: blob GET failed"
  read -r code size speed <<<"$out"
  [ "$code" = 200 ] && [ "$size" = "$BLOB_BYTES" ] || die "$1: blob GET gave HTTP $code, $size bytes"
  awk -v s="$speed" 'BEGIN { printf "%.1f", s / 1e6 }'
}
# Concurrent GETs of the blob: start_gets server n name (their pids in GET_PIDS), wait_gets server
# name (fails on a curl failure), check_gets server n name (each got 200 and the whole blob).
start_gets() {
  local i
  GET_PIDS=()
  for i in $(seq 1 "$2"); do
    curl -sS -o /dev/null --max-time "$CURL_MAX" -w '%{http_code} %{size_download}\n' \
      "${BASE[$1]}/v2/bench/blobs/$BLOB_DIGEST" >"$WORK/curl/$3-$i" 2>&1 &
    GET_PIDS+=($!); BG_PIDS+=($!)
  done
}
wait_gets() {
  local i
  for i in "${!GET_PIDS[@]}"; do wait "${GET_PIDS[$i]}" || die "$1: $2 $((i + 1)) failed: $(cat "$WORK/curl/$2-$((i + 1))")"; done
  BG_PIDS=()
}
check_gets() {
  local i code size
  for i in $(seq 1 "$2"); do
    read -r code size <"$WORK/curl/$3-$i"
    [ "$code" = 200 ] && [ "$size" = "$BLOB_BYTES" ] || die "$1: $3 gave HTTP $code, $size bytes"
  done
}
get_parallel() { # server n -> MB/s (total bytes / wall time)
  local s=$1 n=$2 t0 t
  t0=$(now_s)
  start_gets "$s" "$n" par
  wait_gets "$s" par
  t=$(elapsed "$t0")
  check_gets "$s" "$n" par
  mbps $((n * BLOB_BYTES)) "$t"
}
log "blob GET, 1 client and 8 clients, best of $ROUNDS"
for r in $(seq 1 "$ROUNDS"); do
  for s in "${SERVERS[@]}"; do
    v=$(get_one "$s"); R[get1_$s]=$(max "${R[get1_$s]:-}" "$v")
  done
  for s in "${SERVERS[@]}"; do
    v=$(get_parallel "$s" 8); R[get8_$s]=$(max "${R[get8_$s]:-}" "$v")
  done
done

# ---------------------------------------------------------------- wrk: manifest GET by tag, blob HEAD
run_wrk() { # server name url [wrk args...] -> requests/s
  local s=$1 name=$2 url=$3 out rps
  shift 3
  out="$WORK/logs/wrk-$name-$s.txt"
  # Warm-up run (JIT for ours; the same for everyone), not counted.
  if [ "$WRK_WARMUP_S" != 0 ]; then
    timeout 120 wrk "${WRK_ARGS[@]:0:2}" -d"${WRK_WARMUP_S}s" "$@" "$url" >"$out.warmup" 2>&1 || die "$s: wrk warm-up failed"
  fi
  timeout 120 wrk "${WRK_ARGS[@]}" --timeout 10s "$@" "$url" >"$out" 2>&1 || die "$s: wrk $name failed: $(cat "$out")"
  grep -q 'Non-2xx or 3xx responses' "$out" && die "$s: wrk $name got non-2xx responses: $(cat "$out")"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  [ -n "$rps" ] || die "$s: wrk $name printed no Requests/sec: $(cat "$out")"
  if grep -q 'Socket errors' "$out"; then echo "wrk $name on $s: $(grep 'Socket errors' "$out" | sed 's/^ *//')" >>"$WORK/notes"; fi
  printf '%.0f' "$rps"
}
# Debian's wrk 4.1 cannot do HEAD (with wrk.method = "HEAD" it waits for a body after the
# Content-Length header and completes no request: wg/wrk#198), so HEAD uses bench/HttpLoad.java,
# wrk's model in Java (2 event loops, 64 keep-alive connections). It also runs the manifest GET, so
# that its own ceiling can be compared with wrk's.
run_load() { # server name method url [header]... -> requests/s
  local s=$1 name=$2 method=$3 url=$4 out rps n bad err
  shift 4
  out="$WORK/logs/httpload-$name-$s.txt"
  timeout 120 "$JAVA_HOME/bin/java" -Dwarmup="$WARMUP_S" -cp "$JAVA_CLASSES" HttpLoad "$method" "$url" "${LOAD_ARGS[@]}" "$@" >"$out" 2>&1 \
    || die "$s: HttpLoad $name failed: $(cat "$out")"
  read -r rps n bad err <"$out" || true
  [ -n "${err:-}" ] || die "$s: HttpLoad $name printed: $(cat "$out")"
  [ "$bad" = 0 ] || die "$s: HttpLoad $name got $bad non-2xx responses"
  [ "$err" = 0 ] || die "$s: HttpLoad $name had $err connection errors"
  echo "$rps"
}
log "wrk ${WRK_ARGS[*]}: manifest GET by tag; HttpLoad ${LOAD_ARGS[*]}: blob HEAD, manifest GET"
for s in "${SERVERS[@]}"; do
  v=$(run_wrk "$s" manifest "${BASE[$s]}/v2/bench/manifests/latest" -H "Accept: $ACCEPT"); R[manifest_$s]=$v
  v=$(run_load "$s" head HEAD "${BASE[$s]}/v2/bench/blobs/$BLOB_DIGEST"); R[head_$s]=$v
  v=$(run_load "$s" manifest GET "${BASE[$s]}/v2/bench/manifests/latest" "Accept: $ACCEPT"); R[jmanifest_$s]=$v
done

# ---------------------------------------------------------------- uploads
upload_mono() { # server repo -> MB/s
  local t
  t=$(post_digest "${BASE[$1]}" "$2" "$BLOB" "$BLOB_DIGEST")
  mbps "$BLOB_BYTES" "$t"
}
upload_postput() { # server repo -> MB/s
  local t
  t=$(post_put "${BASE[$1]}" "$2" "$BLOB" "$BLOB_DIGEST")
  mbps "$BLOB_BYTES" "$t"
}
upload_chunked() { # server repo -> MB/s
  local s=$1 base=${BASE[$1]} t=0 dt loc code out start=0 end chunk
  out=$(curl -sS -o /dev/null -D "$WORK/curl/h" --max-time 60 -X POST -w '%{http_code} %{time_total}' \
    "$base/v2/$2/blobs/uploads/") || die "$s: upload POST failed"
  read -r code t <<<"$out"
  [ "$code" = 202 ] || die "$s: upload POST gave HTTP $code"
  loc=$(location_of "$base" "$WORK/curl/h") || die "$s: upload POST gave no Location"
  for chunk in "$WORK"/chunks/chunk-*; do
    end=$((start + $(stat -c %s "$chunk") - 1))
    out=$(curl -sS -o "$WORK/curl/up.out" -D "$WORK/curl/h" --max-time "$CURL_MAX" -X PATCH -H 'Expect:' \
      -H 'Content-Type: application/octet-stream' -H "Content-Range: $start-$end" --data-binary @"$chunk" \
      -w '%{http_code} %{time_total}' "$loc") || die "$s: PATCH $start-$end failed"
    read -r code dt <<<"$out"
    [ "$code" = 202 ] || die "$s: PATCH $start-$end gave HTTP $code $(head -c 500 "$WORK/curl/up.out")"
    t=$(awk -v a="$t" -v b="$dt" 'BEGIN { printf "%.6f", a + b }')
    loc=$(location_of "$base" "$WORK/curl/h") || die "$s: PATCH gave no Location"
    start=$((end + 1))
  done
  out=$(curl -sS -o "$WORK/curl/up.out" --max-time 120 -X PUT -H 'Content-Length: 0' -w '%{http_code} %{time_total}' \
    "$(with_digest "$loc" "$BLOB_DIGEST")") || die "$s: upload PUT failed"
  read -r code dt <<<"$out"
  [ "$code" = 201 ] || die "$s: upload PUT gave HTTP $code $(head -c 500 "$WORK/curl/up.out")"
  t=$(awk -v a="$t" -v b="$dt" 'BEGIN { printf "%.6f", a + b }')
  mbps "$BLOB_BYTES" "$t"
}
# The floor: the JVM's SHA-256 on the same file, measured again in every upload round (best of 3
# each time) and the best of all kept, so that one slow moment of the machine cannot lower it.
sha_jvm() {
  local mbps hex
  read -r mbps _ hex < <("$JAVA_HOME/bin/java" -cp "$JAVA_CLASSES" Sha256Throughput "$BLOB" 3) || die "Sha256Throughput failed"
  [ "sha256:$hex" = "$BLOB_DIGEST" ] || die "Sha256Throughput gave another digest"
  R[sha_jvm]=$(max "${R[sha_jvm]:-}" "$mbps")
}
log "JVM SHA-256 on the blob ($JAVA_HOME)"
sha_jvm
t0=$(now_s); sha256sum "$BLOB" >/dev/null; R[sha_coreutils]=$(mbps "$BLOB_BYTES" "$(elapsed "$t0")")
# Before each measured write: flush what earlier steps left in the page cache (registry:2 never
# fsyncs), so that its writeback does not land on the next measurement, whoever's it is.
settle() { sync; }
log "uploads (monolithic, chunked in $CHUNKS x $CHUNK_BYTES bytes), best of $ROUNDS"
for r in $(seq 1 "$ROUNDS"); do
  sha_jvm
  for s in "${REGISTRIES[@]}"; do
    if [ "$s" = ours ]; then
      settle; v=$(upload_mono "$s" "up-$RUN_ID/mono-$r"); R[mono_$s]=$(max "${R[mono_$s]:-}" "$v")
    fi
    settle; v=$(upload_postput "$s" "up-$RUN_ID/postput-$r"); R[postput_$s]=$(max "${R[postput_$s]:-}" "$v")
    settle; v=$(upload_chunked "$s" "up-$RUN_ID/chunked-$r"); R[chunked_$s]=$(max "${R[chunked_$s]:-}" "$v")
  done
done

# ---------------------------------------------------------------- skopeo multi-platform push and pull
skopeo_copy() { # log src dst extra... -> seconds
  local logf=$1 src=$2 dst=$3 t0
  shift 3
  t0=$(now_s)
  HOME="$WORK/skopeo-home" XDG_RUNTIME_DIR="$WORK/skopeo-home" timeout 600 \
    skopeo --policy "$WORK/skopeo-policy.json" copy --all --preserve-digests --authfile "$WORK/skopeo-auth.json" "$@" "$src" "$dst" \
    >"$logf" 2>&1 || die "skopeo copy $src $dst failed: $(tail -5 "$logf")"
  awk -v t="$(elapsed "$t0")" 'BEGIN { printf "%.2f", t }'
}
log "skopeo push and pull of a 3-platform image, best of $SKOPEO_ROUNDS after a warm-up round"
# Round 0 warms both registries up and is not counted: a JVM compiles the push path on first use,
# which a long-running registry did long ago. It has its own image, so later rounds upload in full.
for r in $(seq 0 "$SKOPEO_ROUNDS"); do
  # Alternate who goes first. Each round has new random layers, so skopeo's blob-info cache
  # cannot turn an upload into a mount or a skip.
  order=(ours registry2); [ $((r % 2)) = 0 ] && order=(registry2 ours)
  for s in "${order[@]}"; do
    ref="${BASE[$s]#http://}/multi-$RUN_ID-$r:v1"
    settle
    t=$(skopeo_copy "$WORK/logs/skopeo-push-$s-$r.log" "oci:$WORK/layout-$r:v1" "docker://$ref" --dest-tls-verify=false)
    [ "$r" = 0 ] || R[skopeo_push_$s]=$(min "${R[skopeo_push_$s]:-}" "$t")
  done
  for s in "${order[@]}"; do
    ref="${BASE[$s]#http://}/multi-$RUN_ID-$r:v1"
    settle
    t=$(skopeo_copy "$WORK/logs/skopeo-pull-$s-$r.log" "docker://$ref" "oci:$WORK/pull-$s-$r:v1" --src-tls-verify=false)
    [ "$r" = 0 ] || R[skopeo_pull_$s]=$(min "${R[skopeo_pull_$s]:-}" "$t")
    want=$(ls "$WORK/layout-$r/blobs/sha256" | sort | sha256sum)
    got=$(ls "$WORK/pull-$s-$r/blobs/sha256" | sort | sha256sum)
    [ "$want" = "$got" ] || die "$s: skopeo pull did not give back the same blobs"
  done
done

# ---------------------------------------------------------------- memory during concurrent pulls
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
log "peak RSS during $PULLS concurrent pulls, each registry freshly restarted on its store"
for s in "${REGISTRIES[@]}"; do
  R[hwm_used_$s]=$(( $(status_kib "${PID[$s]}" VmHWM) / 1024 ))
  stop_server "$s"
  start_server "$s"
  wait_server "$s"
  p=${PID[$s]}
  # One pull first, so the fresh process has served the blob once (JIT, caches), as in service.
  get_one "$s" >/dev/null
  R[rss_before_$s]=$(( $(status_kib "$p" VmRSS) / 1024 ))
  # Reset the peak (VmHWM) to the current RSS, so that after the pulls it is the peak during them.
  reset=0
  if echo 5 >"/proc/$p/clear_refs" 2>/dev/null; then reset=1; fi
  sampled=0
  t0=$(now_s)
  start_gets "$s" "$PULLS" pull
  # Sample VmRSS too (bounded: at most CURL_MAX seconds), in case the reset is not allowed.
  deadline=$(( $(date +%s) + CURL_MAX ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    alive=0
    for q in "${GET_PIDS[@]}"; do if kill -0 "$q" 2>/dev/null; then alive=1; break; fi; done
    sampled=$(max "$sampled" "$(status_kib "$p" VmRSS)")
    [ "$alive" = 1 ] || break
    sleep 0.05
  done
  wait_gets "$s" pull
  t=$(elapsed "$t0")
  check_gets "$s" "$PULLS" pull
  hwm=$(( $(status_kib "$p" VmHWM) / 1024 ))
  sampled=$(( sampled / 1024 ))
  if [ "$reset" = 1 ]; then R[rss_peak_$s]=$(max "$hwm" "$sampled"); R[rss_how]="VmHWM after resetting it (clear_refs 5) just before the pulls"
  else R[rss_peak_$s]=$sampled; R[rss_how]="highest VmRSS sampled every 50 ms during the pulls (clear_refs not allowed)"; fi
  R[rss_after_$s]=$(( $(status_kib "$p" VmRSS) / 1024 ))
  R[pulls_mbps_$s]=$(mbps $((PULLS * BLOB_BYTES)) "$t")
done

# ---------------------------------------------------------------- report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { # value op target
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    if (v == "n/a") { print "n/a"; exit }
    ok = (op == ">=") ? (v + 0 >= t + 0) : (op == "<=") ? (v + 0 <= t + 0) : (v + 0 < t + 0)
    print ok ? "PASS" : "MISS" }'
}
mib() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%g MiB", b / 1048576; else printf "%g KiB", b / 1024 }'; }

if [ "$SMOKE" = 1 ]; then OUT=${BENCH_OUT:-$WORK/results.md}; else OUT=${BENCH_OUT:-$here/results.md}; fi
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
sha_ni=$(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)
java_version=$("$JAVA_HOME/bin/java" -version 2>&1 | head -1)
ours_version=$("$REGISTRY" --version 2>/dev/null | head -1 || true)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -v '^?? bench/' | head -1 || true)
duration=$(( ($(date +%s%N) - START_NS) / 1000000000 ))

{
  echo "# Registry benchmark$([ "$SMOKE" = 1 ] && echo ' (smoke mode: tiny sizes, numbers meaningless)')"
  echo
  echo "Command: \`$COMMAND\` (from the repository root; $duration s after the build step)"
  echo
  echo "| machine | |"
  echo "| --- | --- |"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M:%S UTC') |"
  echo "| CPU | $cpu, nproc $(nproc), SHA extensions (sha_ni): $sha_ni |"
  echo "| memory | $mem |"
  echo "| kernel | $(uname -srm) |"
  echo "| load average (1, 5, 15 min) at the start; at the end | $LOAD_START; $(cut -d' ' -f1-3 /proc/loadavg) |"
  echo "| ours | ${ours_version:+$ours_version, }commit $rev${dirty:+ (with uncommitted changes)}, $java_version, REGISTRY_JAVA_OPTS='${REGISTRY_JAVA_OPTS:-}' |"
  echo "| registry:2 | $("$DOCKER_REGISTRY" --version 2>&1 | head -1) (Debian docker-registry) |"
  echo "| nginx | $("$NGINX" -v 2>&1 | head -1), worker_processes auto, sendfile, tcp_nopush |"
  echo "| clients | $(curl --version | head -1 | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(skopeo --version) |"
  echo
  echo "All servers on 127.0.0.1, on this machine with the clients; filesystem stores (ours, registry:2) and"
  echo "nginx's static tree all in \`${TMPDIR:-/tmp}\`, content in the page cache. MB = 10^6 bytes."
  echo "Blob: $(mib "$BLOB_BYTES") random. Ratios are ours/theirs."
  echo
  echo "## Blob GET, $(mib "$BLOB_BYTES") (MB/s, best of $ROUNDS)"
  echo
  echo "| clients | ours | registry:2 | nginx | ours/nginx | ours/registry:2 | target | result |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
  for n in 1 8; do
    rn=$(ratio "${R[get${n}_ours]}" "${R[get${n}_nginx]}")
    echo "| $n | ${R[get${n}_ours]} | ${R[get${n}_registry2]} | ${R[get${n}_nginx]} | $rn | $(ratio "${R[get${n}_ours]}" "${R[get${n}_registry2]}") | ≥ 0.9× nginx | $(verdict "$rn" ">=" 0.9) |"
  done
  echo
  echo "1 client: curl's \`%{speed_download}\` to /dev/null. 8 clients: 8 parallel curls, total bytes / wall time."
  echo
  echo "## Manifest GET by tag and blob HEAD (requests/s, 64 keep-alive connections)"
  echo
  echo "| request | ours | registry:2 | nginx | ours/nginx | ours/registry:2 | target | result |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
  for m in manifest head jmanifest; do
    case $m in
      manifest) label="manifest GET by tag (\`wrk ${WRK_ARGS[*]}\`)" ;;
      head) label="blob HEAD (\`HttpLoad ${LOAD_ARGS[*]}\`)" ;;
      jmanifest) label="manifest GET by tag (\`HttpLoad ${LOAD_ARGS[*]}\`), client check" ;;
    esac
    rn=$(ratio "${R[${m}_ours]}" "${R[${m}_nginx]}")
    echo "| $label | ${R[${m}_ours]} | ${R[${m}_registry2]} | ${R[${m}_nginx]} | $rn | $(ratio "${R[${m}_ours]}" "${R[${m}_registry2]}") | ≥ 0.5× nginx | $(verdict "$rn" ">=" 0.5) |"
  done
  echo
  echo "Debian's wrk 4.1 cannot measure HEAD (it waits for a body after a HEAD response's Content-Length and"
  echo "completes no request: wg/wrk#198), so HEAD is measured with \`bench/HttpLoad.java\` (wrk's model in Java:"
  echo "NIO event loops, keep-alive connections, ${WARMUP_S} s warm-up, then the measured seconds). Its manifest GET row"
  echo "shows how its own ceiling compares with wrk's. The clients run on the same $(nproc) cores as the servers."
  echo
  echo "## Upload, $(mib "$BLOB_BYTES") (MB/s, best of $ROUNDS; time: curl's time_total summed over the upload's requests)"
  echo
  echo "| mode | ours | registry:2 | JVM SHA-256 | ours/JVM SHA-256 | ours/registry:2 | target | result |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
  R[mono_registry2]="n/a"
  for m in mono postput chunked; do
    case $m in
      mono) label="monolithic, one request (POST ?digest= with the body)" ;;
      postput) label="monolithic, two requests (POST, PUT ?digest= with the body)" ;;
      chunked) label="chunked (POST, $CHUNKS PATCH of $(mib "$CHUNK_BYTES"), PUT ?digest=)" ;;
    esac
    rs=$(ratio "${R[${m}_ours]}" "${R[sha_jvm]}")
    echo "| $label | ${R[${m}_ours]} | ${R[${m}_registry2]} | ${R[sha_jvm]} | $rs | $(ratio "${R[${m}_ours]}" "${R[${m}_registry2]}") | ≥ 0.7× JVM SHA-256 | $(verdict "$rs" ">=" 0.7) |"
  done
  echo
  echo "registry:2 (distribution 2.8) does not implement the one-request monolithic upload (it ignores the body"
  echo "and opens a session), so it has no number there; the two-request form is what docker and skopeo send."
  echo "JVM SHA-256: \`bench/Sha256Throughput.java\` (MessageDigest, 1 MiB reads) on the same file, best of 3 before the uploads and best of 3 in every upload round; the best of all."
  echo "For reference, coreutils \`sha256sum\` on it: ${R[sha_coreutils]} MB/s (one pass)."
  echo
  echo "## Server memory during $PULLS concurrent pulls of the $(mib "$BLOB_BYTES") blob (MiB)"
  echo
  echo "| | ours | registry:2 | ours/registry:2 | target | result |"
  echo "| --- | ---: | ---: | ---: | --- | --- |"
  echo "| RSS before the pulls | ${R[rss_before_ours]} | ${R[rss_before_registry2]} | $(ratio "${R[rss_before_ours]}" "${R[rss_before_registry2]}") | | |"
  echo "| **peak RSS during the pulls** | ${R[rss_peak_ours]} | ${R[rss_peak_registry2]} | $(ratio "${R[rss_peak_ours]}" "${R[rss_peak_registry2]}") | < 512 MiB | $(verdict "${R[rss_peak_ours]}" "<" 512) |"
  echo "| RSS after the pulls | ${R[rss_after_ours]} | ${R[rss_after_registry2]} | | | |"
  echo "| VmHWM of the process that ran all the tests before (GETs, wrk, uploads) | ${R[hwm_used_ours]} | ${R[hwm_used_registry2]} | $(ratio "${R[hwm_used_ours]}" "${R[hwm_used_registry2]}") | | |"
  echo "| aggregate pull throughput (MB/s) | ${R[pulls_mbps_ours]} | ${R[pulls_mbps_registry2]} | $(ratio "${R[pulls_mbps_ours]}" "${R[pulls_mbps_registry2]}") | | |"
  echo
  echo "Each registry is restarted on its store before this test and serves one GET of the blob; then the $PULLS pulls"
  echo "start at once. Peak: ${R[rss_how]}. Ours is the JVM process (pid of \`java\`, default heap settings unless"
  echo "REGISTRY_JAVA_OPTS says otherwise), registry:2 the \`docker-registry\` process."
  echo
  echo "## skopeo, 3-platform image ($((3 * LAYERS)) layers of $(mib "$LAYER_BYTES"), seconds, best of $SKOPEO_ROUNDS)"
  echo
  echo "| | ours | registry:2 | ours/registry:2 | target | result |"
  echo "| --- | ---: | ---: | ---: | --- | --- |"
  for m in push pull; do
    rr=$(ratio "${R[skopeo_${m}_ours]}" "${R[skopeo_${m}_registry2]}")
    echo "| $m (\`skopeo copy --all\`) | ${R[skopeo_${m}_ours]} | ${R[skopeo_${m}_registry2]} | $rr | ≤ 1.0× registry:2 | $(verdict "$rr" "<=" 1.0) |"
  done
  echo
  echo "\`--preserve-digests\` makes sure skopeo copies every blob and manifest as it is (no recompression)."
  echo "One uncounted warm-up round first (a JVM compiles its push path on first use). Each round pushes a newly generated image (so skopeo's blob-info cache never skips an upload) to a new"
  echo "repository, alternating which registry goes first, then pulls it back into a new OCI layout."
  if [ -s "$WORK/notes" ]; then
    echo
    echo "## Notes"
    echo
    sed 's/^/- /' "$WORK/notes"
  fi
} >"$OUT"

# TLS: ours and nginx again, one at a time, so the servers above are stopped first.
for s in "${SERVERS[@]}"; do stop_server "$s"; done
log "TLS section (bench/tls.sh)"
"$here/tls.sh" "${SMOKE_FLAG[@]}" >>"$OUT" || die "the TLS benchmark failed"

log "done in $duration s after the build; results: $OUT"
cat "$OUT"
