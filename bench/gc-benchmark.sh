#!/usr/bin/env bash
# Garbage collection, ours against Docker's registry:2 and against the machine's floor, in one run
# on identical copies of one generated registry:2-layout store.
#
#   bench/gc-benchmark.sh [--append] [manifests=10000] [workdir=/tmp/gc-benchmark] [repositories]
#
# Generates the store once (registry-gc's Registry2StoreGenerator; repositories default to
# min(1000, manifests/100)), then for each mode (plain, --delete-untagged) and each contender makes
# a fresh full copy (cp -a: a hard-linked copy would share inodes, so one run's atime and mtime
# updates would show in the next), flushes it (sync) and reads all of it into the page cache, and
# measures with /usr/bin/time -v:
#   registry:2  docker-registry garbage-collect [--delete-untagged] cfg.yml
#   ours        ./registry garbage-collect [-m] --grace 0s --config cfg.yml (registry:2 has no grace)
#   floor       walk: a parallel find over blobs/ and repositories/, reading every tag's current
#               link and every manifest blob a revision names (xargs -P2 cat); delete: on a fresh
#               copy, removing exactly the files and directories our run removed (xargs -P2 rm,
#               then rmdir deepest first).
# After each run the store is checked (bench/gc_check.py: every tag complete, with links and data)
# and our counts are compared with what the generator expects. Prints a markdown table (also in
# <workdir>/results.md; --append adds it to bench/results.md). Copies are removed after use.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)
append=false
if [ "${1:-}" = --append ]; then
  append=true
  shift
fi
manifests=${1:-10000}
work=$(realpath -m "${2:-/tmp/gc-benchmark}")
repositories=${3:-$((manifests / 100 < 1 ? 1 : manifests / 100 > 1000 ? 1000 : manifests / 100))}
source scripts/java-env

say() { echo "== $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

rm -rf "$work/gen" "$work/r2" "$work/ours" "$work/floor" # only what an earlier run made
mkdir -p "$work"
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

say "building (registry-gc test classes; the ./registry launcher builds the server)"
mvn -q -o -B -pl registry-gc -am test-compile -Dspotless.check.skip=true >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; exit 1; }
./registry garbage-collect --help >/dev/null

say "generating $manifests manifests"
"$JAVA_HOME/bin/java" -cp registry-gc/target/test-classes dev.ociregistry.gc.Registry2StoreGenerator \
  "$manifests" "$work/gen" "$repositories" 2 2>/dev/null | tee "$work/generate.log" >&2
exp() { sed -n "s/^$1=//p" "$work/gen/expected.properties"; }
store="$work/gen/store"
inodes=$(find "$store" | wc -l)
size=$(du -sh "$store" | cut -f1)

# A fresh copy of the store at $work/$1, flushed to disk and read into the page cache.
fresh_copy() {
  rm -rf "${work:?}/$1"
  cp -a "$store" "$work/$1"
  sync
  find "$work/$1" -type f -print0 | xargs -0 -P2 -n 2000 cat >/dev/null
}

# Wall seconds and peak RSS (MiB) from a /usr/bin/time -v output file.
wall_of() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"
}
rss_of() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

tree_lists() { # $1 copy, $2 prefix: sorted lists of files and directories
  (cd "$work/$1" && find . -type f | sort >"$work/$2.files" && find . -type d | sort -r >"$work/$2.dirs")
}

walk_floor() { # $1 copy: prints seconds
  local c="$work/$1" t0 t1
  t0=$(now)
  {
    find "$c/docker/registry/v2/blobs" >/dev/null &
    find "$c/docker/registry/v2/repositories" -name link >"$work/links.txt"
    wait
  }
  grep '/_manifests/tags/[^/]*/current/link$' "$work/links.txt" | tr '\n' '\0' |
    xargs -0 -P2 -n 2000 cat >/dev/null
  grep '/_manifests/revisions/sha256/[0-9a-f]*/link$' "$work/links.txt" |
    sed -E "s#.*/revisions/sha256/(..)([0-9a-f]*)/link\$#$c/docker/registry/v2/blobs/sha256/\1/\1\2/data#" |
    tr '\n' '\0' | xargs -0 -P2 -n 2000 cat >/dev/null
  t1=$(now)
  elapsed "$t0" "$t1"
}

delete_floor() { # $1 copy, $2 prefix of the lists of what our run deleted: prints seconds
  local t0 t1
  t0=$(now)
  (cd "$work/$1" && tr '\n' '\0' <"$work/$2.deleted-files" | xargs -0 -r -P2 -n 2000 rm -f &&
    tr '\n' '\0' <"$work/$2.deleted-dirs" | xargs -0 -r -n 2000 rmdir)
  t1=$(now)
  elapsed "$t0" "$t1"
}

declare -A R
for mode in plain untagged; do
  r2_flag=
  our_flag=
  if [ $mode = untagged ]; then
    r2_flag=--delete-untagged
    our_flag=-m
  fi

  say "$mode: registry:2"
  fresh_copy r2
  sed "s#rootdirectory: .*#rootdirectory: $work/r2#" "$work/gen/registry2.yml" >"$work/r2.yml"
  /usr/bin/time -v -o "$work/r2-$mode.time" docker-registry garbage-collect $r2_flag "$work/r2.yml" \
    >"$work/r2-$mode.log" 2>&1
  python3 bench/gc_check.py "$work/r2" >"$work/r2-$mode.check"
  rm -rf "${work:?}/r2"

  say "$mode: ours"
  fresh_copy ours
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$work/ours" >"$work/ours.yml"
  tree_lists ours "before-$mode"
  /usr/bin/time -v -o "$work/ours-$mode.time" ./registry garbage-collect $our_flag --grace 0s --json \
    --config "$work/ours.yml" >"$work/ours-$mode.json" 2>"$work/ours-$mode.log"
  tree_lists ours "after-$mode"
  comm -23 "$work/before-$mode.files" "$work/after-$mode.files" >"$work/$mode.deleted-files"
  comm -23 <(sort "$work/before-$mode.dirs") <(sort "$work/after-$mode.dirs") | sort -r \
    >"$work/$mode.deleted-dirs"
  python3 bench/gc_check.py "$work/ours" >"$work/ours-$mode.check"
  rm -rf "${work:?}/ours"

  say "$mode: floor (walk, delete)"
  fresh_copy floor
  R[$mode.walk]=$(walk_floor floor)
  R[$mode.delete]=$(delete_floor floor "$mode")
  rm -rf "${work:?}/floor"

  R[$mode.r2]=$(wall_of "$work/r2-$mode.time")
  R[$mode.r2rss]=$(rss_of "$work/r2-$mode.time")
  R[$mode.ours]=$(wall_of "$work/ours-$mode.time")
  R[$mode.oursrss]=$(rss_of "$work/ours-$mode.time")
  R[$mode.floor]=$(awk -v a="${R[$mode.walk]}" -v b="${R[$mode.delete]}" 'BEGIN { printf "%.2f", a + b }')
  R[$mode.files]=$(wc -l <"$work/$mode.deleted-files")
  R[$mode.dirs]=$(wc -l <"$work/$mode.deleted-dirs")
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

blobs=$(exp blobs)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
status=0
check_row() { # $1 mode, $2 who, $3 mode label, $4 who label: one table row of what the run left
  local c="$work/$2-$1.check" json="$work/ours-$1.json"
  local left deleted
  left=$(json_field "$c" blob_files)
  deleted=$((blobs - left))
  local expected_manifests expected_blobs ours_note=""
  expected_manifests=$(exp "$1.manifests_deleted")
  expected_blobs=$(exp "$1.blobs_deleted")
  if [ "$2" = ours ]; then
    ours_note="; report: $(json_field "$json" manifestsDeleted) manifests, $(json_field "$json" blobsDeleted) blobs"
    if [ "$deleted" != "$expected_blobs" ] || [ "$(json_field "$json" manifestsDeleted)" != "$expected_manifests" ] ||
      [ "$(json_field "$c" broken_tags)" != 0 ]; then
      ours_note="$ours_note, NOT AS EXPECTED"
      status=1
    fi
  fi
  printf '| %s | %s | %s | %s (expected %s) | %s | %s | %s | %s%s |\n' "$3" "$4" \
    "$(json_field "$c" tags)" "$deleted" "$expected_blobs" "$(json_field "$c" broken_tags)" \
    "$(json_field "$c" missing_data)" "$(json_field "$c" missing_revision_links)" \
    "$(json_field "$c" revisions) revisions left" "$ours_note"
}

{
  echo
  echo "## Garbage collection against registry:2, $(exp manifests) manifests (\`bench/gc-benchmark.sh $manifests\`, $started)"
  echo
  echo "Store: $(exp manifests) manifests in $(exp repositories) repositories, $(exp tags) tags, $blobs blobs, $(exp files) files"
  echo "($inodes inodes with directories, $size on disk), generated in $(exp generate_seconds) s by \`Registry2StoreGenerator\`."
  echo "Commit $(git rev-parse --short HEAD); $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); registry:2 is $(docker-registry --version | cut -d' ' -f2-)."
  echo "Load average (1, 5, 15 min) at the start $load_start; at the end $load_end (nproc $(nproc); shared machine)."
  echo "Each run on its own fresh \`cp -a\` copy, synced and read into the page cache first. Seconds are wall time,"
  echo "RSS is /usr/bin/time's maximum resident set size."
  echo
  echo "| mode | registry:2 s | ours s | floor s (walk + delete) | registry:2/ours | ours/floor | registry:2 RSS MiB | ours RSS MiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for mode in plain untagged; do
    label=$mode
    [ $mode = untagged ] && label=--delete-untagged
    printf '| %s | %s | %s | %s (%s + %s) | %s | %s | %s | %s |\n' "$label" "${R[$mode.r2]}" "${R[$mode.ours]}" \
      "${R[$mode.floor]}" "${R[$mode.walk]}" "${R[$mode.delete]}" \
      "$(ratio "${R[$mode.r2]}" "${R[$mode.ours]}")" "$(ratio "${R[$mode.ours]}" "${R[$mode.floor]}")" \
      "${R[$mode.r2rss]}" "${R[$mode.oursrss]}"
  done
  echo
  echo "Floor delete: the ${R[plain.files]} files and ${R[plain.dirs]} directories (plain), ${R[untagged.files]} files and ${R[untagged.dirs]} directories (--delete-untagged) our run removed."
  echo
  echo "What each run left (\`bench/gc_check.py\`: a tag is broken when its manifest, an index child, a config or a layer lacks its link or data):"
  echo
  echo "| mode | who | tags | blobs deleted | broken tags | blob data missing | revision links missing | notes |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
  for mode in plain untagged; do
    label=$mode
    [ $mode = untagged ] && label=--delete-untagged
    check_row $mode r2 $label registry:2
    check_row $mode ours $label ours
  done
} >"$work/results.md"

cat "$work/results.md"
if $append; then
  cat "$work/results.md" >>"$repo_root/bench/results.md"
fi
exit $status
