#!/usr/bin/env bash
# Push/pull throughput of the registry on the S3 driver, against an in-process S3Proxy (memory).
# Not a test: builds the test classes, then runs dev.ociregistry.conformance.S3Benchmark.
#
#   bench/s3-throughput.sh [size-MiB=256] [pulls-per-client=3] [concurrent-clients=4]
#
# BENCH_HEAP sets the JVM heap (default 4g: the blob is held by the client and by S3Proxy).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-env

classpath_file=$(mktemp)
trap 'rm -f "$classpath_file"' EXIT

# A reactor build (-am), so the registry modules come from this tree and not from ~/.m2; the
# classpath is written by the last module of the reactor, conformance-tests.
mvn -B -q -o -pl conformance-tests -am test-compile dependency:build-classpath \
  -Dspotless.check.skip=true -Dmdep.includeScope=test -Dmdep.outputFile="$classpath_file"

exec java -Xmx"${BENCH_HEAP:-4g}" \
  -cp "conformance-tests/target/test-classes:$(cat "$classpath_file")" \
  dev.ociregistry.conformance.S3Benchmark "$@"
