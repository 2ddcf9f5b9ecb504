#!/usr/bin/env bash
# Soak test of garbage collection beside pushes (not run in CI). bench/gc-soak.py repeats "delete
# the old image, push a rebuild on the same old base layer" against a real server and checks, before
# each delete, that the last acknowledged image's base layer still answers; the base layer's files
# are backdated two hours, so the default one-hour grace period does not protect it, only the
# handshake does. Two rounds on fresh data:
#   in-server  the server's own collector every 10 ms, default settings otherwise;
#   offline    two `garbage-collect` loops on the same directory beside the server (two collectors
#              meet: the second is refused while one runs).
#
#   bench/gc-soak.sh [ITERATIONS]     default 1000 per round; prints JSON lines, exits 1 if anything
#                                     broke or a collection failed
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
iterations=${1:-1000}
"$root/registry" --help >/dev/null 2>&1 || true # builds the jar if needed
# A copy of the jar and its lib/, so that editing sources meanwhile does not rebuild what runs.
frozen=$(mktemp -d)
cp -r "$root/registry-server/target/registry-server.jar" "$root/registry-server/target/lib" "$frozen/"
source "$root/scripts/java-env"
registry() { "$JAVA_HOME/bin/java" -jar "$frozen/registry-server.jar" "$@"; }

soak_round() {
  local mode=$1 work port server status=0
  work=$(mktemp -d)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  cat >"$work/config.yml" <<YAML
http:
  addr: 127.0.0.1:$port
storage:
  filesystem:
    rootdirectory: $work/data
gc:
  enabled: $([ "$mode" = in-server ] && echo true || echo false)
  interval: 10ms
YAML
  registry serve --config "$work/config.yml" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
    sleep 0.2
  done
  (cd "$work" && python3 "$here/gc-soak.py" 127.0.0.1 "$port" 0 setup)
  find "$work/data" -exec touch -h -d '2 hours ago' {} +
  local loops=()
  if [ "$mode" = offline ]; then
    for n in 1 2; do
      (
        while [ ! -f "$work/stop" ]; do
          code=0
          registry garbage-collect --config "$work/config.yml" >>"$work/gc$n.log" 2>&1 || code=$?
          echo "exit $code" >>"$work/gc$n.exits"
        done
      ) &
      loops+=($!)
    done
  fi
  (cd "$work" && python3 "$here/gc-soak.py" 127.0.0.1 "$port" "$iterations") || status=$?
  touch "$work/stop"
  for pid in "${loops[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  local ok refused failed inserver
  ok=$(cat "$work"/gc*.exits 2>/dev/null | grep -c '^exit 0$' || true)
  refused=$(cat "$work"/gc*.exits 2>/dev/null | grep -c '^exit 3$' || true)
  failed=$(cat "$work"/gc*.exits 2>/dev/null | grep -vc '^exit [03]$' || true)
  inserver=$(grep -c 'garbage collection finished' "$work/server.log" || true)
  failed=$((failed + $(grep -c 'scheduled garbage collection failed' "$work/server.log" || true)))
  echo "{\"round\": \"$mode\", \"offline_collections\": $ok, \"offline_refused_busy\": $refused, \"in_server_collections\": $inserver, \"collections_failed\": $failed, \"work\": \"$work\"}"
  [ "$failed" = 0 ] || status=1
  return $status
}

status=0
soak_round in-server || status=1
soak_round offline || status=1
rm -rf "$frozen"
exit $status
