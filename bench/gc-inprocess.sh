#!/usr/bin/env bash
# Benchmarks the garbage collector over a generated store (registry-gc's GcBenchmark, not a test).
#
#   bench/gc-inprocess.sh [manifests=100000] [output dir=/tmp/gc-benchmark] [parallelism=8]
#
# The store is written to <output dir> (replacing a previous one there) and kept afterwards.
# Extra JVM options go in GC_BENCH_JAVA_OPTS, e.g. GC_BENCH_JAVA_OPTS=-Xmx512m.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-env

manifests=${1:-100000}
out=${2:-/tmp/gc-benchmark}
parallelism=${3:-8}

cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# One reactor build: the sibling modules resolve from it, not from ~/.m2 (nothing is installed).
# Every module writes the classpath file in turn; registry-gc's, written last, is the one used.
mvn -q -o -pl registry-gc -am test-compile dependency:build-classpath -Dspotless.check.skip=true \
  -DexcludeGroupIds=dev.ociregistry -Dmdep.outputFile="$cp_file" >/dev/null
# The sibling modules' classes, from this checkout rather than ~/.m2.
classes=registry-gc/target/test-classes:registry-gc/target/classes
for module in registry-storage registry-core; do
  classes="$classes:$module/target/classes"
done

java ${GC_BENCH_JAVA_OPTS:-} -cp "$classes:$(cat "$cp_file")" \
  dev.ociregistry.gc.GcBenchmark "$manifests" "$out" "$parallelism"
