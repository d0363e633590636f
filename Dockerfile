# Flotilla node image. Multi-stage: the Maven wrapper builds in a JDK image, a JRE image runs.
#   docker build -t flotilla .                  (add --network host where a build container has
#                                                no route out, as on the project's build machine)
#   docker-compose -f deploy/docker-compose.yml up -d
# deploy/compose-test.sh builds this image and runs the cluster through crashes, stops, restarts
# and growth; see deploy/README.md for what it proves, the image's size and its start time.

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
# Dependencies first, so that source edits do not refetch them.
COPY .mvn .mvn
COPY mvnw pom.xml ./
COPY wal/pom.xml wal/pom.xml
COPY raft/pom.xml raft/pom.xml
COPY storage/pom.xml storage/pom.xml
COPY client/pom.xml client/pom.xml
COPY checker/pom.xml checker/pom.xml
COPY loadgen/pom.xml loadgen/pom.xml
COPY server/pom.xml server/pom.xml
COPY chaos/pom.xml chaos/pom.xml
COPY cli/pom.xml cli/pom.xml
COPY bench/pom.xml bench/pom.xml
COPY app/pom.xml app/pom.xml
RUN ./mvnw -q -B dependency:go-offline -DexcludeReactor=true || true
COPY . .
RUN ./mvnw -q -B -DskipTests -pl cli -am package

# The runtime stage. deploy/compose-test.sh --prebuilt builds exactly this stage (these lines,
# cut from this file) from jars built on the host, to skip the in-image Maven build.
FROM eclipse-temurin:17-jre AS runtime
# A fixed non-root uid, so that volumes and Kubernetes' runAsUser/fsGroup agree with the image.
RUN useradd --system --uid 10001 --home-dir /opt/flotilla flotilla \
 && mkdir -p /data /opt/flotilla/bin /opt/flotilla/cli/target \
 && chown flotilla /data
COPY --from=build /src/cli/target/lib /opt/flotilla/cli/target/lib
COPY --from=build /src/cli/target/classes /opt/flotilla/cli/target/classes
COPY --from=build /src/bin/flotilla /opt/flotilla/bin/flotilla
USER flotilla
WORKDIR /opt/flotilla
# A named volume is created from this directory, owned by the flotilla user.
VOLUME /data
# client, peer, admin
EXPOSE 7000 7001 7002
# /health on the admin port, with bash alone: a JRE base image need not have curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/7002 && printf "GET /health HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q " 200"'
# Heap from the container's memory limit: half of it, the rest for RocksDB's native memory
# (block cache, memtables), Netty's direct buffers and the JVM itself. A JVM that runs out of heap
# exits, so the restart policy (or Kubernetes) starts a clean one instead of a half-working node.
ENV JAVA_OPTS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError"
# bin/flotilla ends in `exec java`: the JVM is PID 1 and receives docker stop's SIGTERM itself,
# so a leader hands its leadership over before it exits (ServerCommand's shutdown hook).
ENTRYPOINT ["/opt/flotilla/bin/flotilla"]
CMD ["--help"]
