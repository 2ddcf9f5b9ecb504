#!/usr/bin/env bash
# Builds the two base images the Dockerfile needs, from Debian's packages, for machines that
# cannot pull from Docker Hub: a build image (JDK 21 + Maven) and a run image (JRE 21 headless).
#   scripts/container-base.sh            # both, skipped where the image already exists
#   CONTAINER_BASE_REBUILD=1 scripts/container-base.sh
# Needs root, podman and mmdebstrap (apt-get install mmdebstrap). Takes about 2-4 minutes on two
# cores, most of it downloading and unpacking packages; nothing is pulled from a container registry.
# Debian 13 (trixie) is used because it packages OpenJDK 21; Debian 12 does not.
# Prints the two image names; scripts/container-test.sh passes them to the Dockerfile as
# --build-arg BUILD_IMAGE=... --build-arg RUN_IMAGE=...
set -euo pipefail
suite=${CONTAINER_BASE_SUITE:-trixie}
mirror=${CONTAINER_BASE_MIRROR:-http://deb.debian.org/debian}
build_image=${BUILD_IMAGE:-localhost/ociregistry-base-build:$suite}
run_image=${RUN_IMAGE:-localhost/ociregistry-base-run:$suite}

# Keep the images small: no recommends, no docs, man pages or locales, no apt lists.
slim=(
  --aptopt='APT::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  # update-alternatives links the JDK's man pages there, and fails where the directory is missing.
  --essential-hook='mkdir -p "$1"/usr/share/man/man1'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*'
)

# name, packages: one rootfs from Debian, imported as an image with a PATH.
bootstrap() {
  local name=$1 packages=$2
  if [ -z "${CONTAINER_BASE_REBUILD:-}" ] && podman image exists "$name"; then
    echo "have $name" >&2
    return
  fi
  echo "bootstrapping $name ($suite: $packages)..." >&2
  # Through a file, not a pipe: a failed bootstrap must not leave a truncated image behind.
  local tar
  tar=$(mktemp --suffix=.tar)
  trap 'rm -f "$tar"' RETURN
  mmdebstrap --quiet --mode=root --variant=minbase --include="$packages" "${slim[@]}" \
    "$suite" "$tar" "$mirror"
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    "$tar" "$name" >/dev/null
  echo "built $name ($(podman image inspect --format '{{.Size}}' "$name" | numfmt --to=iec))" >&2
}

bootstrap "$build_image" openjdk-21-jdk-headless,maven
bootstrap "$run_image" openjdk-21-jre-headless
echo "BUILD_IMAGE=$build_image"
echo "RUN_IMAGE=$run_image"
