#!/usr/bin/env bash
# Builds the container image with Jib (no container engine involved in the build) and runs it for
# real: our own registry, started from the jar, stands in for Docker Hub (the base image) and for
# the target registry; the image must then look and behave like the Dockerfile's: its config
# (user, entrypoint, labels), a push and a pull through the running container, a clean SIGTERM.
#   scripts/jib-test.sh
# Needs root, podman, skopeo, python3, curl, unzip, and the local base localhost/ociregistry-base-run:trixie
# (built from Debian's packages by scripts/container-base.sh when missing, 2-4 minutes once).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$here/scripts/java-env"
base=localhost/ociregistry-base-run:trixie
name=ociregistry-jib-test
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)  # the registry from the jar: base image in, Jib's image out
cport=$(free_port) # the registry in the container
hub=127.0.0.1:$port
image=$hub/ociregistry:jib
# This machine's podman: crun fails on its mixed cgroup set-up, and the default ulimits are above
# what the sandbox allows.
podman_opts=(--runtime runc)
limits=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
registry_pid=
cleanup() {
  podman "${podman_opts[@]}" rm -f "$name" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  [ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null || true
  [ -z "$registry_pid" ] || wait "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  podman logs "$name" 2>&1 | tail -20 >&2 || true
  exit 1
}
wait_for() { # URL: until it answers 200, at most 20 s
  for _ in $(seq 100); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
start=$SECONDS

if ! podman image exists "$base"; then
  step "base image from Debian's packages"
  "$here/scripts/container-base.sh"
fi

step "build the registry jar"
(cd "$here" && mvn -B -q -DskipTests -Dspotless.check.skip=true package -pl registry-server -am) \
  >"$work/package.log" 2>&1 || { tail -30 "$work/package.log"; fail "mvn package"; }

step "start the registry from the jar on $hub"
cat >"$work/hub.yml" <<EOF
version: 0.1
http:
  addr: 127.0.0.1:$port
storage:
  filesystem:
    rootdirectory: $work/hub
EOF
"$JAVA_HOME/bin/java" -jar "$here/registry-server/target/registry-server.jar" serve "$work/hub.yml" \
  >"$work/hub.log" 2>&1 &
registry_pid=$!
wait_for "http://$hub/" || { tail -20 "$work/hub.log"; fail "the registry from the jar does not start"; }
skopeo copy -q "containers-storage:$base" "docker://$hub/base:trixie" --dest-tls-verify=false

step "mvn jib:build"
(cd "$here" && mvn -B -DskipTests -Dspotless.check.skip=true -pl registry-server -am package jib:build \
  -Djib.from.image="$hub/base:trixie" -Djib.to.image="$image" -Djib.allowInsecureRegistries=true) \
  >"$work/jib.log" 2>&1 || { tail -40 "$work/jib.log"; fail "jib:build"; }
grep -q "Built and pushed image as $image" "$work/jib.log" || { tail -20 "$work/jib.log"; fail "no image pushed"; }
# The commit the build stamped into the jar (registry --version): the label must be the same one.
revision=$(unzip -p "$here/registry-server/target/registry-server.jar" registry-version.properties |
  sed -n 's/^commit=//p')
git -C "$here" cat-file -e "$revision^{commit}" || fail "the build's commit $revision is not in git"

step "skopeo inspect: the image's config"
skopeo inspect --config --tls-verify=false "docker://$image" >"$work/config.json"
python3 - "$work/config.json" "$revision" <<'EOF' || fail "image config"
import json, sys
c = json.load(open(sys.argv[1]))["config"]
want = {
    "User": "10001:10001",
    "Entrypoint": ["/bin/registry"],
    "Cmd": ["serve", "/etc/docker/registry/config.yml"],
    "ExposedPorts": {"5000/tcp": {}},
    "Volumes": {"/var/lib/registry": {}},
}
bad = [f"{k}: {c.get(k)!r}, expected {v!r}" for k, v in want.items() if c.get(k) != v]
labels = c.get("Labels") or {}
for k, v in {"org.opencontainers.image.title": "registry",
             "org.opencontainers.image.revision": sys.argv[2],
             "org.opencontainers.image.licenses": "NOASSERTION"}.items():
    if labels.get(k) != v:
        bad.append(f"label {k}: {labels.get(k)!r}, expected {v!r}")
if not labels.get("org.opencontainers.image.version"):
    bad.append("no org.opencontainers.image.version label")
if "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry" not in c.get("Env", []):
    bad.append(f"Env: {c.get('Env')}")
print("\n".join(bad) or f"user {c['User']}, entrypoint {c['Entrypoint']}, cmd {c['Cmd']}, "
      f"version {labels['org.opencontainers.image.version']}, revision {labels['org.opencontainers.image.revision']}")
sys.exit(1 if bad else 0)
EOF

step "podman pull and run with a volume"
podman pull -q --tls-verify=false "$image" >/dev/null
podman run --rm "${podman_opts[@]}" "${limits[@]}" "$image" --version
mkdir -p "$work/data"
chown 10001:10001 "$work/data"
# The image's own config.yml (config/registry.yaml), its root directory the volume.
podman "${podman_opts[@]}" run -d --name "$name" "${limits[@]}" -p "127.0.0.1:$cport:5000" \
  -v "$work/data:/var/lib/registry" "$image" >/dev/null
wait_for "http://127.0.0.1:$cport/" || fail "GET / does not answer 200"
echo "GET / 200"

step "skopeo push and pull through the container"
python3 - "$work/oci" <<'EOF'
import hashlib, json, os, sys
root = sys.argv[1]
os.makedirs(f"{root}/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
layer = blob(os.urandom(4 << 20))
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
open(f"{root}/layer", "w").write(layer["digest"])
EOF
layer=$(cat "$work/oci/layer")
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$work/oci:1.0" \
  "docker://127.0.0.1:$cport/team/app:1.0"
skopeo copy -q --preserve-digests --src-tls-verify=false "docker://127.0.0.1:$cport/team/app:1.0" \
  "oci:$work/pulled:1.0"
cmp -s "$work/oci/blobs/sha256/${layer#sha256:}" "$work/pulled/blobs/sha256/${layer#sha256:}" ||
  fail "the pulled layer differs from the pushed one"
[ -f "$work/data/docker/registry/v2/blobs/sha256/${layer:7:2}/${layer#sha256:}/data" ] ||
  fail "the layer is not on the volume"
echo "pushed and pulled team/app:1.0; the layer is on the volume"

step "SIGTERM (podman stop)"
podman "${podman_opts[@]}" stop --time 30 "$name" >/dev/null # SIGTERM, SIGKILL after 30 s
code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
# 143 is the JVM's exit after its shutdown hooks ran on SIGTERM; 137 would be podman's SIGKILL.
[ "$code" = 0 ] || [ "$code" = 143 ] || fail "exit code $code"
podman logs "$name" 2>&1 | grep -q "stopped" || fail "no drain in the log"
echo "stopped cleanly, exit $code"
echo "jib test: ok ($((SECONDS - start)) s)"
