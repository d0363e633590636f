# Flotilla node image. Multi-stage: the Maven wrapper builds, a JRE runs.
#   docker build -t flotilla .
#   docker compose -f deploy/docker-compose.yml up
# Not built in CI here (no container engine on the build machine); see deploy/README.md.

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
RUN ./mvnw -q -B dependency:go-offline -DexcludeReactor=true || true
COPY . .
RUN ./mvnw -q -B -DskipTests -pl cli -am package

FROM eclipse-temurin:17-jre
RUN useradd --system --uid 10001 --home-dir /opt/flotilla flotilla \
 && mkdir -p /data /opt/flotilla/bin /opt/flotilla/cli/target \
 && chown flotilla /data
COPY --from=build /src/cli/target/classes /opt/flotilla/cli/target/classes
COPY --from=build /src/cli/target/lib /opt/flotilla/cli/target/lib
COPY bin/flotilla /opt/flotilla/bin/flotilla
USER flotilla
VOLUME /data
# client, peer, admin
EXPOSE 7000 7001 7002
# /health on the admin port, with bash alone (the JRE image has no curl guarantee).
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/7002 && printf "GET /health HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q " 200"'
ENV JAVA_OPTS="-XX:+UseSerialGC -XX:MaxRAMPercentage=50"
ENTRYPOINT ["/opt/flotilla/bin/flotilla"]
CMD ["--help"]
