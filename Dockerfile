# Builds and runs the registry. Same paths as Docker's registry:2 image: configuration at
# /etc/docker/registry/config.yml, data under /var/lib/registry, port 5000, so a deployment of
# registry:2 can switch by changing its image.
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY . .
RUN mvn -q -B -DskipTests -Dspotless.check.skip=true -pl registry-server -am package

FROM eclipse-temurin:21-jre
RUN useradd --system --uid 10001 --home-dir /var/lib/registry registry \
    && mkdir -p /var/lib/registry /etc/docker/registry \
    && chown registry /var/lib/registry
COPY --from=build /src/registry-server/target/lib/ /opt/registry/lib/
COPY --from=build /src/registry-server/target/registry-server.jar /opt/registry/
COPY config/registry.yaml /etc/docker/registry/config.yml
ENV REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry
# Memory: the same defaults as ./registry; why each, in docs/architecture.md (Memory). The heap
# (and with it the direct-memory cap) follows the container's memory limit.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
USER registry
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["java", "-XX:+UseG1GC", "-XX:MaxRAMPercentage=40", "-Xms32m", \
    "-XX:G1PeriodicGCInterval=15000", "-jar", "/opt/registry/registry-server.jar"]
CMD ["serve", "--config", "/etc/docker/registry/config.yml"]
