#!/usr/bin/env bash
# Memory under upload bursts (not run in CI): starts this registry with its default JVM options
# (through ../registry serve, filesystem store in a temp dir), runs bursts of parallel uploads
# (64 x 64 MiB, monolithic then chunked, 3 rounds), samples the server's RSS during and after, and
# prints the peak of each burst and the RSS after the bursts (after a wait, then after a full GC).
#
#   bench/upload-memory.sh             64 uploads of 64 MiB, 3 rounds, 30 s wait
#   bench/upload-memory.sh --smoke     8 uploads of 4 MiB, 1 round, 2 s wait
#
# Environment: UPLOADS, SIZE_MIB, CHUNK_MIB, ROUNDS, SETTLE_S override the sizes;
# REGISTRY_JAVA_OPTS is passed to the JVM by the launcher (to compare options); with
# -XX:NativeMemoryTracking=summary in it, the JVM's own accounting is printed after each burst.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
source "$root/scripts/java-env"

if [ "${1:-}" = "--smoke" ]; then
  UPLOADS=${UPLOADS:-8} SIZE_MIB=${SIZE_MIB:-4} CHUNK_MIB=${CHUNK_MIB:-1} ROUNDS=${ROUNDS:-1}
  SETTLE_S=${SETTLE_S:-2}
elif [ -n "${1:-}" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
UPLOADS=${UPLOADS:-64}
SIZE_MIB=${SIZE_MIB:-64}
CHUNK_MIB=${CHUNK_MIB:-16}
ROUNDS=${ROUNDS:-3}
SETTLE_S=${SETTLE_S:-30}

work=$(mktemp -d)
server=
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
http:
  addr: 127.0.0.1:$port
storage:
  filesystem:
    rootdirectory: $work/data
YAML

"$root/registry" serve --config "$work/config.yml" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/v2/" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"
pid=$server # the launcher execs the JVM

# With -XX:NativeMemoryTracking=summary in REGISTRY_JAVA_OPTS: where the JVM's memory is.
nmt() {
  case "${REGISTRY_JAVA_OPTS:-}" in
    *NativeMemoryTracking*)
      "$JAVA_HOME/bin/jcmd" "$pid" VM.native_memory summary |
        grep -E '^-? *(Total|Java Heap|Class|Thread|Code|GC|Other|Metaspace) ' | sed 's/^/    NMT /'
      ;;
  esac
}
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }
mib() { echo $(( $1 / 1024 )); }

# RSS every 200 ms, for the record (the peaks below come from VmHWM, which misses nothing).
(while kill -0 "$pid" 2>/dev/null; do
  echo "$(date +%s.%N) $(kib VmRSS)"
  sleep 0.2
done) >"$work/rss.log" &
sampler=$!

echo "registry pid $pid, JVM options: ${REGISTRY_JAVA_OPTS:-(launcher defaults)}"
echo "idle RSS: $(mib "$(kib VmRSS)") MiB"
printf '%-6s %-11s %-30s %14s %14s\n' round mode result "peak RSS MiB" "end RSS MiB"
for round in $(seq 1 "$ROUNDS"); do
  for mode in monolithic chunked; do
    echo 5 >"/proc/$pid/clear_refs" # resets VmHWM
    result=$(python3 "$here/upload_burst.py" "127.0.0.1:$port" "$mode" "$UPLOADS" "$SIZE_MIB" \
      "$CHUNK_MIB" 2>"$work/client.err") || { cat "$work/client.err" >&2; result="$result (FAILED)"; }
    printf '%-6s %-11s %-30s %14s %14s\n' "$round" "$mode" "$result" \
      "$(mib "$(kib VmHWM)")" "$(mib "$(kib VmRSS)")"
    nmt
  done
done
sleep "$SETTLE_S"
echo "RSS ${SETTLE_S} s after the last burst: $(mib "$(kib VmRSS)") MiB"
"$JAVA_HOME/bin/jcmd" "$pid" GC.run >/dev/null
sleep 2
echo "RSS after a full GC (jcmd GC.run): $(mib "$(kib VmRSS)") MiB"
nmt
"$JAVA_HOME/bin/jcmd" "$pid" GC.heap_info | sed -n '1,3p'
peak=$(sort -k2 -n "$work/rss.log" | tail -1 | cut -d' ' -f2)
echo "highest sampled RSS overall: $(mib "${peak:-0}") MiB"
