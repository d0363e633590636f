package io.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.flotilla.server.ServerCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The deployment files, read as data: the Kubernetes manifests cannot be run here (no cluster), so
 * this keeps them consistent with the compose file that deploy/compose-test.sh does run: every
 * node command parses as {@code flotilla server} options, the same flags and in-container ports on
 * both, members advertised and joined by name, probes on /health, the pod's user the image's, and
 * selectors that select the pods. Rerun:
 * {@code ./mvnw -q -B -pl cli -am test -Dtest=DeployManifestsTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class DeployManifestsTest {
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  private static final ObjectMapper YAML = new YAMLMapper();
  private static JsonNode compose;
  private static JsonNode service;
  private static JsonNode statefulSet;
  private static JsonNode pdb;
  private static String dockerfile;

  @BeforeAll
  static void read() throws IOException {
    compose = YAML.readTree(REPO.resolve("deploy/docker-compose.yml").toFile());
    Map<String, JsonNode> byKind = new HashMap<>();
    try (var docs = YAML.readerFor(JsonNode.class).readValues(
        new YAMLFactory().createParser(REPO.resolve("deploy/kubernetes/flotilla.yaml").toFile()))) {
      while (docs.hasNext()) {
        JsonNode d = (JsonNode) docs.next();
        assertThat(byKind.put(d.path("kind").asText(), d)).as("one %s", d.path("kind")).isNull();
      }
    }
    service = byKind.get("Service");
    statefulSet = byKind.get("StatefulSet");
    pdb = byKind.get("PodDisruptionBudget");
    assertThat(byKind).containsOnlyKeys("Service", "StatefulSet", "PodDisruptionBudget");
    dockerfile = Files.readString(REPO.resolve("Dockerfile"));
  }

  /** Parses {@code args} as {@code flotilla server} would (unknown flags, missing or bad values fail). */
  private static ServerCommand parseServer(List<String> args) {
    ServerCommand cmd = new ServerCommand();
    new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
    return cmd;
  }

  private static Set<String> flags(List<String> args) {
    Set<String> out = new TreeSet<>();
    args.stream().filter(a -> a.startsWith("--")).forEach(out::add);
    return out;
  }

  private static List<String> composeCommand(String node) {
    List<String> args = new ArrayList<>();
    compose.path("services").path(node).path("command").forEach(a -> args.add(a.asText()));
    assertThat(args).as("%s's command", node).isNotEmpty().first().isEqualTo("server");
    return args.subList(1, args.size());
  }

  private static JsonNode container() {
    JsonNode containers = statefulSet.at("/spec/template/spec/containers");
    assertThat(containers).hasSize(1);
    return containers.get(0);
  }

  /**
   * The pod's server command for one ordinal: the shell script of the manifest with its variables
   * filled in as that pod's shell would (ordinal 0 bootstraps, the others join).
   */
  private static List<String> podCommand(int ordinal) {
    String script = container().path("args").get(0).asText();
    Matcher exec = Pattern.compile("exec /opt/flotilla/bin/flotilla server (.*)$", Pattern.DOTALL)
        .matcher(script);
    assertThat(exec.find()).as("the script ends in exec ... flotilla server: %s", script).isTrue();
    Matcher join = Pattern.compile("mode=\"(--join [^\"]+)\"").matcher(script);
    assertThat(join.find()).as("the script's join mode").isTrue();
    Matcher bootstrap = Pattern.compile("mode=\"(--id 1 --bootstrap)\"").matcher(script);
    assertThat(bootstrap.find()).as("the script's bootstrap mode").isTrue();
    String mode = ordinal == 0 ? bootstrap.group(1) : join.group(1);
    String line = exec.group(1).replace("$HOSTNAME", "flotilla-" + ordinal).replace("$mode", mode);
    assertThat(line).as("every variable filled in").doesNotContain("$");
    return List.of(line.trim().split("\\s+"));
  }

  @Test
  void everyComposeNodeCommandIsAValidServerCommandAdvertisingItsServiceName() {
    List<String> nodes = new ArrayList<>();
    compose.path("services").fieldNames().forEachRemaining(nodes::add);
    assertThat(nodes).containsExactly("node1", "node2", "node3", "node4", "node5", "joiner");
    nodes.remove("joiner"); // a shell script, checked by joinerIsAServerCommandNamedByItsHostnameWithNoId
    for (String node : nodes) {
      List<String> args = composeCommand(node);
      parseServer(args);
      assertThat(args).as(node).containsSubsequence("--advertise-peer", node + ":7001")
          .containsSubsequence("--advertise-client", node + ":7000");
      if (node.equals("node1")) {
        assertThat(args).contains("--bootstrap").doesNotContain("--join");
      } else {
        // Joined by name through the bootstrapping node's advertised client address.
        assertThat(args).containsSubsequence("--join", "node1:7000").doesNotContain("--bootstrap");
      }
      // The growth nodes take an id from the cluster, as any node that grows it; the first three
      // keep fixed ids (the test and the chaos run address them as node 1..3).
      if (node.equals("node4") || node.equals("node5")) {
        assertThat(args).as(node).doesNotContain("--id");
      } else {
        assertThat(args).as(node).containsSubsequence("--id", node.substring(4));
      }
      JsonNode ports = compose.path("services").path(node).path("ports");
      List<String> targets = new ArrayList<>();
      ports.forEach(p -> targets.add(p.asText().replaceAll(".*:", "")));
      assertThat(targets).as("%s publishes its client and admin ports", node)
          .containsExactlyInAnyOrder("7000", "7002");
    }
  }

  @Test
  void joinerIsAServerCommandNamedByItsHostnameWithNoId() {
    // `--profile scale up --scale joiner=N`: every container runs the same command, so it has no
    // id (the cluster hands one out), names itself by its hostname (the container's short id,
    // which Docker's DNS resolves) and publishes no fixed host port.
    JsonNode joiner = compose.at("/services/joiner");
    assertThat(joiner.path("profiles").toString()).isEqualTo("[\"scale\"]");
    assertThat(joiner.path("entrypoint").toString()).isEqualTo("[\"bash\",\"-c\"]");
    assertThat(joiner.path("command")).hasSize(1);
    String script = joiner.path("command").get(0).asText();
    // `$$` is compose's escape for a `$` the container's shell sees (not the host's variable).
    assertThat(script).startsWith("exec /opt/flotilla/bin/flotilla server ").contains("$$HOSTNAME")
        .doesNotContain("${");
    String line = script.substring("exec /opt/flotilla/bin/flotilla server ".length())
        .replace("$$HOSTNAME", "0123456789ab");
    assertThat(line).as("every variable filled in").doesNotContain("$");
    List<String> args = List.of(line.trim().split("\\s+"));
    parseServer(args);
    assertThat(args).doesNotContain("--id").containsSubsequence("--join", "node1:7000")
        .containsSubsequence("--advertise-peer", "0123456789ab:7001")
        .containsSubsequence("--advertise-client", "0123456789ab:7000");
    assertThat(flags(args)).as("the joiner's flags against node4's").isEqualTo(flags(composeCommand("node4")));
    assertThat(joiner.has("volumes")).as("no named volume: one anonymous /data volume per container").isFalse();
    assertThat(joiner.has("hostname")).as("the hostname differs per container").isFalse();
    List<String> ports = new ArrayList<>();
    joiner.path("ports").forEach(p -> ports.add(p.asText()));
    assertThat(ports).as("host ports chosen by Docker").containsExactlyInAnyOrder("127.0.0.1::7000", "127.0.0.1::7002");
  }

  @Test
  void kubernetesPodCommandsAreValidServerCommandsWithTheComposeFlags() {
    for (int ordinal : new int[] {0, 1, 2}) {
      List<String> args = podCommand(ordinal);
      parseServer(args);
      assertThat(args).containsSubsequence("--advertise-peer", "flotilla-" + ordinal + ".flotilla:7001")
          .containsSubsequence("--advertise-client", "flotilla-" + ordinal + ".flotilla:7000");
      // The same flags as the compose file (which is run for real): pod 0 bootstraps as node1
      // does; the others join with an id from the cluster as node4 does.
      String composeNode = ordinal == 0 ? "node1" : "node4";
      assertThat(flags(args)).as("pod %d's flags against compose's %s", ordinal, composeNode)
          .isEqualTo(flags(composeCommand(composeNode)));
    }
    // Joined through the bootstrapping pod's advertised client address, by name.
    assertThat(podCommand(1)).containsSubsequence("--join", "flotilla-0.flotilla:7000").doesNotContain("--id");
    assertThat(podCommand(0)).containsSubsequence("--id", "1");
    assertThat(podCommand(0)).containsSubsequence("--advertise-client", "flotilla-0.flotilla:7000");
  }

  @Test
  void listenPortsAgreeAcrossComposeKubernetesAndTheImage() {
    for (List<String> args : List.of(composeCommand("node2"), podCommand(1))) {
      parseServer(args);
      assertThat(args).containsSubsequence("--client", "0.0.0.0:7000")
          .containsSubsequence("--peer", "0.0.0.0:7001").containsSubsequence("--admin", "0.0.0.0:7002")
          .containsSubsequence("--data-dir", "/data");
    }
    Map<String, Integer> containerPorts = new HashMap<>();
    container().path("ports").forEach(p -> containerPorts.put(p.path("name").asText(), p.path("containerPort").asInt()));
    Map<String, Integer> servicePorts = new HashMap<>();
    service.at("/spec/ports").forEach(p -> servicePorts.put(p.path("name").asText(), p.path("port").asInt()));
    assertThat(containerPorts).isEqualTo(Map.of("client", 7000, "peer", 7001, "admin", 7002));
    assertThat(servicePorts).isEqualTo(containerPorts);
    assertThat(dockerfile).contains("EXPOSE 7000 7001 7002");
    assertThat(container().path("volumeMounts").get(0).path("mountPath").asText()).isEqualTo("/data");
    assertThat(statefulSet.at("/spec/volumeClaimTemplates/0/metadata/name").asText())
        .isEqualTo(container().path("volumeMounts").get(0).path("name").asText());
    assertThat(dockerfile).contains("VOLUME /data");
  }

  @Test
  void probesAskHealthOnTheAdminPort() {
    for (String probe : List.of("readinessProbe", "livenessProbe")) {
      JsonNode get = container().path(probe).path("httpGet");
      assertThat(get.path("path").asText()).as(probe).isEqualTo("/health");
      assertThat(get.path("port").asText()).as(probe).isEqualTo("admin");
    }
    assertThat(dockerfile).containsPattern("HEALTHCHECK[^\\n]*\\n[^\\n]*/dev/tcp/127.0.0.1/7002[^\\n]*GET /health");
  }

  @Test
  void selectorsSelectThePodsAndTheHeadlessServiceNamesThem() {
    JsonNode labels = statefulSet.at("/spec/template/metadata/labels");
    assertThat(statefulSet.at("/spec/selector/matchLabels")).isEqualTo(labels);
    assertThat(service.at("/spec/selector")).isEqualTo(labels);
    assertThat(pdb.at("/spec/selector/matchLabels")).isEqualTo(labels);
    // At most one pod away at a time: a 3-member cluster keeps its quorum through a drain.
    assertThat(pdb.at("/spec/maxUnavailable").asInt()).isEqualTo(1);
    assertThat(service.at("/spec/clusterIP").asText()).isEqualTo("None");
    assertThat(service.at("/spec/publishNotReadyAddresses").asBoolean()).isTrue();
    String name = service.at("/metadata/name").asText();
    assertThat(statefulSet.at("/spec/serviceName").asText()).isEqualTo(name);
    // Pod DNS names are <statefulset>-<ordinal>.<service>: what the commands advertise.
    assertThat(podCommand(1)).contains("flotilla-1." + name + ":7001");
    assertThat(statefulSet.at("/metadata/name").asText() + "-0." + name).isEqualTo("flotilla-0.flotilla");
  }

  @Test
  void stopsLeaveTimeForTheHandOverAndPodsRunAsTheImagesUser() {
    // SIGTERM: hand-over (--shutdown-transfer-ms, 3 s by default) and the drain of requests in
    // flight (5 s) must fit before the SIGKILL.
    long transferMs = Long.parseLong(new CommandLine(new ServerCommand()).getCommandSpec()
        .findOption("--shutdown-transfer-ms").defaultValue());
    long neededSeconds = (transferMs + 5_000) / 1000 + 2;
    assertThat(statefulSet.at("/spec/template/spec/terminationGracePeriodSeconds").asLong())
        .isGreaterThanOrEqualTo(neededSeconds);
    assertThat(compose.at("/x-node/stop_grace_period").asText()).matches("\\d+s");
    assertThat(Long.parseLong(compose.at("/x-node/stop_grace_period").asText().replace("s", "")))
        .isGreaterThanOrEqualTo(neededSeconds);
    Matcher uid = Pattern.compile("useradd [^\\n]*--uid (\\d+)").matcher(dockerfile);
    assertThat(uid.find()).isTrue();
    assertThat(statefulSet.at("/spec/template/spec/securityContext/runAsUser").asText()).isEqualTo(uid.group(1));
    assertThat(statefulSet.at("/spec/template/spec/securityContext/fsGroup").asText()).isEqualTo(uid.group(1));
    assertThat(dockerfile).contains("MaxRAMPercentage").containsPattern("(?m)^USER flotilla$");
  }

  @Test
  void scaleScriptDrainsNodesBeforeTheirPodsGo() throws IOException {
    // scale.sh cannot run here (no cluster); at least it decommissions (replicas move off first)
    // and waits for `removed` before it scales down, rather than removing members outright.
    String script = Files.readString(REPO.resolve("deploy/kubernetes/scale.sh"));
    assertThat(script).contains("node decommission").contains("\"removed 0\"").doesNotContain("member remove");
    assertThat(script.indexOf("node decommission")).isLessThan(script.indexOf("kubectl scale"));
    assertThat(script).contains("flotilla-$1.flotilla:7000"); // the address the pods advertise
    assertThat(podCommand(1)).containsSubsequence("--advertise-client", "flotilla-1.flotilla:7000");
  }

  @Test
  void aFlagTheServerDoesNotHaveIsCaught() {
    // The check above has teeth: a misspelt flag in a manifest fails to parse.
    List<String> args = new ArrayList<>(composeCommand("node2"));
    args.add("--advertise-peers");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> parseServer(args))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--advertise-peers");
  }
}
