#!/usr/bin/env bash
# The garbage collector over GcBenchmark's generated store, on the filesystem and on S3 (S3Proxy
# in-process over a local disk: request counts carry over to AWS, times do not).
#
#   bench/gc-s3.sh [manifests=10000] [output dir=/tmp/gc-s3-benchmark] [parallelism=8]
#
# Both stores are written under <output dir> (replacing previous ones) and kept afterwards.
# Extra JVM options go in GC_BENCH_JAVA_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-env

manifests=${1:-10000}
out=${2:-/tmp/gc-s3-benchmark}
parallelism=${3:-8}

cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
# One reactor build: the sibling modules resolve from it, not from ~/.m2 (nothing is installed).
# Every module writes the classpath file in turn; registry-gc's, written last, is the one used.
mvn -q -o -pl registry-gc -am test-compile dependency:build-classpath -Dspotless.check.skip=true \
  -DexcludeGroupIds=dev.ociregistry -Dmdep.outputFile="$cp_file" >/dev/null
# The sibling modules' classes, from this checkout rather than ~/.m2.
# registry-storage's test classes for S3ProxyServer.
classes=registry-gc/target/test-classes:registry-gc/target/classes:registry-storage/target/test-classes
for module in registry-storage registry-core; do
  classes="$classes:$module/target/classes"
done

java ${GC_BENCH_JAVA_OPTS:-} -cp "$classes:$(cat "$cp_file")" \
  dev.ociregistry.gc.GcS3Benchmark "$manifests" "$out" "$parallelism"
