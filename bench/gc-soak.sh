#!/usr/bin/env bash
# Soak test of garbage collection beside pushes (not run in CI): a real server with its in-server
# collector every 10 ms, plus two offline `garbage-collect` loops on the same directory (so two
# collectors meet, and the second is refused while one runs), while bench/gc-soak.py repeats
# "delete the old image, push a rebuild on the same old base layer" and checks that every
# acknowledged image pulls completely. The base layer's files are backdated two hours, so the
# default one-hour grace period does not protect it: only the handshake does.
#
#   bench/gc-soak.sh [ITERATIONS]     default 1000; prints a JSON line, exits 1 if anything broke
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
iterations=${1:-1000}
work=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat >"$work/config.yml" <<YAML
http:
  addr: 127.0.0.1:$port
storage:
  filesystem:
    rootdirectory: $work/data
gc:
  enabled: true
  interval: 10ms
YAML
"$root/registry" --help >/dev/null 2>&1 || true # builds the jar once
"$root/registry" serve --config "$work/config.yml" >"$work/server.log" 2>&1 &
server=$!
loops=()
cleanup() {
  touch "$work/stop"
  for pid in "${loops[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break
  sleep 0.2
done
(cd "$work" && python3 "$here/gc-soak.py" 127.0.0.1 "$port" 0 setup)
find "$work/data" -exec touch -h -d '2 hours ago' {} +
for n in 1 2; do
  (
    while [ ! -f "$work/stop" ]; do
      code=0
      "$root/registry" garbage-collect --config "$work/config.yml" >>"$work/gc$n.log" 2>&1 || code=$?
      echo "exit $code" >>"$work/gc$n.exits"
    done
  ) &
  loops+=($!)
done
status=0
(cd "$work" && python3 "$here/gc-soak.py" 127.0.0.1 "$port" "$iterations") || status=$?
touch "$work/stop"
for pid in "${loops[@]}"; do wait "$pid" 2>/dev/null || true; done
loops=()
offline=$(cat "$work"/gc*.exits 2>/dev/null | grep -c '^exit 0$' || true)
refused=$(cat "$work"/gc*.exits 2>/dev/null | grep -c '^exit 3$' || true)
failed=$(cat "$work"/gc*.exits 2>/dev/null | grep -vc '^exit [03]$' || true)
inserver=$(grep -c 'garbage collection finished' "$work/server.log" || true)
skipped=$(grep -c 'scheduled garbage collection skipped' "$work/server.log" || true)
echo "{\"offline_collections\": $offline, \"offline_refused_busy\": $refused, \"offline_failed\": $failed, \"in_server_collections\": $inserver, \"in_server_skipped_busy\": $skipped, \"work\": \"$work\"}"
[ "$failed" = 0 ] || status=1
exit $status
