#!/usr/bin/env bash
# Authenticated vs unauthenticated manifest GETs by tag on our registry (target: >= 0.8x).
#
#   bench/auth.sh            10 s per run
#   bench/auth.sh --smoke    1 s per run
#
# Starts our registry twice on the same filesystem store: without auth (pushes the content, then
# measures), then with auth.htpasswd (a bcrypt cost-10 entry, htpasswd -B -C 10) and measures the
# same GETs with Basic credentials (HttpLoad's HTTPLOAD_AUTHORIZATION). Prints both rates and the
# ratio. htpasswd -B's own default cost is 5; 10 is what most guides and tools use.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
REGISTRY="$root/registry"
SECONDS_PER_RUN=10
LOAD_THREADS=2
LOAD_CONNECTIONS=64
WARMUP_S=2
if [ "${1:-}" = --smoke ]; then SECONDS_PER_RUN=1; LOAD_CONNECTIONS=8; WARMUP_S=0.5; fi
ACCEPT='application/vnd.oci.image.manifest.v1+json'
BENCH_USER=bench
BENCH_PASSWORD=bench-password

log() { printf '[auth-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

command -v htpasswd >/dev/null 2>&1 || die "htpasswd missing (apt-get install -y apache2-utils)"
command -v curl >/dev/null 2>&1 || die "curl missing"
source "$root/scripts/java-env"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-auth-bench.XXXXXX")
mkdir -p "$WORK/classes" "$WORK/content" "$WORK/store" "$WORK/logs"
PID=
cleanup() {
  local rc=$?
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ "$rc" = 0 ]; then rm -rf "$WORK"; else log "exit $rc; logs in $WORK/logs"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$JAVA_HOME/bin/javac" -d "$WORK/classes" "$here/HttpLoad.java" || die "javac failed"
"$REGISTRY" --version >/dev/null || die "our registry does not build or start"
python3 "$here/gen_content.py" image "$WORK/content" 1024
# shellcheck disable=SC1091
source "$WORK/content/digests"
htpasswd -cbB -C 10 "$WORK/htpasswd" "$BENCH_USER" "$BENCH_PASSWORD" 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
BASE="http://127.0.0.1:$PORT"

start() { # name [VAR=value]...
  local name=$1; shift
  env REGISTRY_HTTP_ADDR="127.0.0.1:$PORT" REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="$WORK/store" \
    REGISTRY_LOG_LEVEL=warn "$@" "$REGISTRY" serve >>"$WORK/logs/$name.log" 2>&1 &
  PID=$!
  local deadline=$(( $(date +%s) + 120 )) code
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "$PID" 2>/dev/null || { tail -20 "$WORK/logs/$name.log" >&2; die "$name exited at start-up"; }
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$BASE/v2/" || true)
    [ "$code" != 000 ] && [ -n "$code" ] && return 0
    sleep 0.1
  done
  die "$name did not answer within 120 s"
}
stop() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=
}
push_blob() { # file digest
  local loc code
  loc=$(curl -sS -D - -o /dev/null -X POST "$BASE/v2/bench/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [ -n "$loc" ] || die "no upload location"
  case $loc in /*) loc="$BASE$loc" ;; esac
  case $loc in *\?*) loc="$loc&digest=$2" ;; *) loc="$loc?digest=$2" ;; esac
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$1" "$loc") || die "blob PUT failed"
  [ "$code" = 201 ] || die "blob PUT gave HTTP $code"
}
load() { # name -> requests/s (HTTPLOAD_AUTHORIZATION from the caller's environment)
  local out="$WORK/logs/load-$1.out" rps non2xx errors
  timeout 120 "$JAVA_HOME/bin/java" -Dwarmup="$WARMUP_S" -cp "$WORK/classes" HttpLoad GET \
    "$BASE/v2/bench/manifests/latest" "$LOAD_THREADS" "$LOAD_CONNECTIONS" "$SECONDS_PER_RUN" \
    "Accept: $ACCEPT" >"$out" 2>&1 || die "HttpLoad $1 failed: $(cat "$out")"
  read -r rps _ non2xx errors <"$out"
  [ "$non2xx" = 0 ] && [ "$errors" = 0 ] || die "HttpLoad $1: $non2xx non-2xx, $errors errors"
  echo "$rps"
}

log "without auth: pushing the content, then $SECONDS_PER_RUN s of manifest GETs"
start plain
push_blob "$WORK/content/blob" "$BLOB_DIGEST"
push_blob "$WORK/content/config.json" "$CONFIG_DIGEST"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: $MANIFEST_TYPE" \
  --data-binary @"$WORK/content/manifest.json" "$BASE/v2/bench/manifests/latest")
[ "$code" = 201 ] || die "manifest PUT gave HTTP $code"
plain=$(load plain)
stop

log "with auth.htpasswd (bcrypt cost 10): $SECONDS_PER_RUN s of the same GETs"
start htpasswd REGISTRY_AUTH_HTPASSWD_REALM=bench REGISTRY_AUTH_HTPASSWD_PATH="$WORK/htpasswd"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $ACCEPT" "$BASE/v2/bench/manifests/latest")
[ "$code" = 401 ] || die "without credentials the registry answered $code, not 401: is auth wired?"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$BENCH_USER:$BENCH_PASSWORD" -H "Accept: $ACCEPT" \
  "$BASE/v2/bench/manifests/latest")
[ "$code" = 200 ] || die "with credentials the registry answered $code, not 200"
authed=$(HTTPLOAD_AUTHORIZATION="Basic $(printf '%s:%s' "$BENCH_USER" "$BENCH_PASSWORD" | base64 -w0)" load htpasswd)
stop

ratio=$(awk -v a="$authed" -v p="$plain" 'BEGIN { printf "%.2f", (p > 0 ? a / p : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "PASS" : "MISS" }')
printf 'manifest GET by tag, requests/s: without auth %s, with htpasswd %s, ratio %s (target >= 0.8: %s)\n' \
  "$plain" "$authed" "$ratio" "$verdict"
