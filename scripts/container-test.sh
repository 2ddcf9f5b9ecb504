#!/usr/bin/env bash
# Builds the container image from the Dockerfile and runs it for real with podman: a volume and a
# config file as registry:2 deployments mount them, the HEALTHCHECK, a push and a pull with skopeo,
# then SIGTERM (podman stop) during a 64 MiB download, which must complete within the drain.
#   scripts/container-test.sh
# Needs root, podman, skopeo, python3, curl; on machines without Docker Hub the base images are
# built from Debian's packages first (scripts/container-base.sh, about 2-4 minutes once). The build
# and the run then take about 1-2 minutes on two cores.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${IMAGE:-localhost/ociregistry:test}
port=${PORT:-15000}
name=ociregistry-container-test
work=$(mktemp -d)
# This machine's podman: crun fails on its mixed cgroup set-up, and the default ulimits are above
# what the sandbox allows.
podman_opts=(--runtime runc)
limits=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
cleanup() {
  podman "${podman_opts[@]}" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; podman logs "$name" 2>&1 | tail -20 >&2 || true; exit 1; }

build_args=()
if [ -z "${BUILD_IMAGE:-}${RUN_IMAGE:-}" ] && ! podman image exists eclipse-temurin:21-jre; then
  step "base images from Debian's packages"
  "$here/scripts/container-base.sh"
  build_args=(--build-arg BUILD_IMAGE=localhost/ociregistry-base-build:trixie
    --build-arg RUN_IMAGE=localhost/ociregistry-base-run:trixie)
fi

step "podman build"
mkdir -p "$HOME/.m2"
podman "${podman_opts[@]}" build --format docker "${limits[@]}" "${build_args[@]}" \
  --volume "$HOME/.m2:/root/.m2" \
  --build-arg REVISION="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  -t "$image" "$here" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "build"; }
podman run --rm "${podman_opts[@]}" "${limits[@]}" "$image" --version

step "run with a volume and a config file"
mkdir -p "$work/data"
chown 10001:10001 "$work/data"
cat >"$work/config.yml" <<'EOF'
version: 0.1
http:
  addr: :5000
  draintimeout: 20s
storage:
  filesystem:
    rootdirectory: /var/lib/registry
EOF
podman "${podman_opts[@]}" run -d --name "$name" "${limits[@]}" -p "127.0.0.1:$port:5000" \
  -v "$work/data:/var/lib/registry" -v "$work/config.yml:/etc/docker/registry/config.yml:ro" \
  "$image" >/dev/null
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/" >/dev/null || fail "GET / does not answer 200"
podman "${podman_opts[@]}" healthcheck run "$name" || fail "HEALTHCHECK"
echo "GET / 200, HEALTHCHECK healthy"

step "skopeo push and pull"
python3 - "$work/oci" <<'EOF'
import hashlib, json, os, sys
root = sys.argv[1]
os.makedirs(f"{root}/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
layer = blob(os.urandom(64 << 20))
config = blob(json.dumps({"architecture": "amd64", "os": "linux",
                          "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
manifest = blob(json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
    "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar")]}).encode())
json.dump({"schemaVersion": 2, "manifests": [dict(manifest,
    mediaType="application/vnd.oci.image.manifest.v1+json",
    annotations={"org.opencontainers.image.ref.name": "1.0"})]}, open(f"{root}/index.json", "w"))
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
print(layer["digest"])
EOF
layer=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]+"/index.json")); d=i["manifests"][0]["digest"][7:]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+d))["layers"][0]["digest"])' "$work/oci")
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$work/oci:1.0" \
  "docker://127.0.0.1:$port/team/app:1.0"
skopeo copy -q --preserve-digests --src-tls-verify=false "docker://127.0.0.1:$port/team/app:1.0" "oci:$work/pulled:1.0"
[ -f "$work/pulled/blobs/sha256/${layer#sha256:}" ] || fail "pulled image lacks the layer"
[ -d "$work/data/docker/registry/v2/blobs" ] || fail "nothing in the volume"
echo "pushed and pulled team/app:1.0; the layer is on the volume"

step "SIGTERM during a 64 MiB download"
curl -sS --limit-rate 16M -o "$work/download" -w '%{http_code} %{size_download}\n' \
  "http://127.0.0.1:$port/v2/team/app/blobs/$layer" >"$work/curl.out" &
curl_pid=$!
sleep 1
podman "${podman_opts[@]}" stop --time 30 "$name" >/dev/null # SIGTERM, SIGKILL after 30 s
wait "$curl_pid" || true
read -r code size <"$work/curl.out"
got=sha256:$(sha256sum "$work/download" | cut -d' ' -f1)
[ "$code" = 200 ] && [ "$size" = $((64 << 20)) ] && [ "$got" = "$layer" ] ||
  fail "download under SIGTERM: status $code, $size bytes, $got"
podman logs "$name" 2>&1 | grep -q "GET /v2/team/app/blobs/$layer 200 $((64 << 20)) " ||
  fail "access log does not record the whole download"
podman logs "$name" 2>&1 | grep -q "stopped" || fail "no drain in the log"
echo "download completed during the drain: $size bytes, digest verified; exit $(podman inspect -f '{{.State.ExitCode}}' "$name")"
echo "container test: ok"
