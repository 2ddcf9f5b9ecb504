# Builds and runs the registry. Same paths as Docker's registry:2 image: configuration at
# /etc/docker/registry/config.yml, data under /var/lib/registry, port 5000, `registry serve CONFIG`
# as its command, so a deployment of registry:2 (its Helm chart too) can switch by changing its image.
#   docker build -t registry --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# Both base images are build arguments: scripts/container-test.sh builds them from Debian's packages
# (scripts/container-base.sh) on machines that cannot pull from Docker Hub.
ARG BUILD_IMAGE=maven:3.9-eclipse-temurin-21
ARG RUN_IMAGE=eclipse-temurin:21-jre

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# The poms alone first: a build of them downloads every dependency and plugin into a layer that is
# reused until a pom changes (go-offline misses plugin dependencies resolved at run time).
COPY pom.xml ./
COPY registry-core/pom.xml registry-core/
COPY registry-storage/pom.xml registry-storage/
COPY registry-gc/pom.xml registry-gc/
COPY registry-http/pom.xml registry-http/
COPY registry-server/pom.xml registry-server/
COPY conformance-tests/pom.xml conformance-tests/
ARG MVN_FLAGS="-q -B -DskipTests -Dspotless.check.skip=true"
RUN mvn ${MVN_FLAGS} -pl registry-server -am package && rm -rf */target
COPY . .
RUN mvn ${MVN_FLAGS} -pl registry-server -am package

FROM ${RUN_IMAGE}
ARG VERSION=0.1.0-SNAPSHOT
ARG REVISION=unknown
ARG SOURCE=
# SPDX's "no statement made": the repository carries no licence file yet.
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="registry" \
      org.opencontainers.image.description="OCI Distribution registry, a drop-in for Docker's registry:2" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}"
COPY scripts/container-root/bin/registry /bin/registry
# registry:2's entrypoint path, for deployments that name it in `command`.
RUN ln -s /bin/registry /entrypoint.sh \
    && groupadd --system --gid 10001 registry \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/registry registry \
    && mkdir -p /var/lib/registry /etc/docker/registry \
    && chown 10001:10001 /var/lib/registry
COPY --from=build /src/registry-server/target/lib/ /opt/registry/lib/
COPY --from=build /src/registry-server/target/registry-server.jar /opt/registry/
COPY config/registry.yaml /etc/docker/registry/config.yml
ENV REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry
USER 10001:10001
VOLUME /var/lib/registry
EXPOSE 5000
# No curl in a slim image: bash opens the connection itself. `GET /` answers 200 without
# credentials, whatever auth is configured.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5000 && printf 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
