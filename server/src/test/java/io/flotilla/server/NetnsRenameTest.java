package io.flotilla.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.StatusResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Names, not addresses, across real hosts: three nodes, each in its own Linux network namespace
 * with its own IP on a bridge, find each other only through names in a hosts file
 * ({@code -Djdk.net.hosts.file}). Node 1 bootstraps a one-member cluster; nodes 2 and 3 join it
 * by name, as learners, and are promoted. Node 3 is then "rescheduled": killed, given a new IP under the
 * same name, restarted on its data. With node 1 then killed, writes need nodes 2 and 3 to reach
 * each other, which works only if node 2 re-resolves node 3's name.
 *
 * <p>Needs root and iproute2 (network namespaces, veth, bridge); skipped with a message otherwise.
 */
class NetnsRenameTest {
  @TempDir Path dir;
  private final String tag = "fl" + Integer.toHexString(new SplittableRandom().nextInt(0x1000, 0xffff));
  private final int net = 100 + new SplittableRandom().nextInt(100);
  private final Process[] nodes = new Process[4];
  private final List<String> namespaces = new ArrayList<>();
  private boolean bridgeCreated;

  private static boolean run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), UTF_8);
      boolean ok = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
      if (!ok) {
        System.err.println("failed: " + String.join(" ", cmd) + "\n" + out);
      }
      return ok;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static void must(String... cmd) {
    if (!run(cmd)) {
      throw new IllegalStateException("command failed: " + String.join(" ", cmd));
    }
  }

  private String ip(int host) {
    return "10.213." + net + "." + host;
  }

  private String ns(int id) {
    return tag + "n" + id;
  }

  private void setUpNetwork() {
    must("ip", "link", "add", tag + "br", "type", "bridge");
    bridgeCreated = true;
    must("ip", "addr", "add", ip(1) + "/24", "dev", tag + "br");
    must("ip", "link", "set", tag + "br", "up");
    for (int id = 1; id <= 3; id++) {
      must("ip", "netns", "add", ns(id));
      namespaces.add(ns(id));
      must("ip", "link", "add", tag + "h" + id, "type", "veth", "peer", "name", tag + "c" + id);
      must("ip", "link", "set", tag + "c" + id, "netns", ns(id));
      must("ip", "link", "set", tag + "h" + id, "master", tag + "br");
      must("ip", "link", "set", tag + "h" + id, "up");
      must("ip", "netns", "exec", ns(id), "ip", "link", "set", "lo", "up");
      must("ip", "netns", "exec", ns(id), "ip", "link", "set", tag + "c" + id, "up");
      must("ip", "netns", "exec", ns(id), "ip", "addr", "add", ip(10 + id) + "/24", "dev", tag + "c" + id);
    }
  }

  private void writeHosts(int node3Host) throws IOException {
    String hosts = ip(11) + " node1\n" + ip(12) + " node2\n" + ip(node3Host) + " node3\n";
    Path tmp = dir.resolve("hosts.tmp");
    Files.writeString(tmp, hosts);
    Files.move(tmp, dir.resolve("hosts"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private void start(int id) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new java.util.ArrayList<>(List.of("ip", "netns", "exec", ns(id), java, "-Xmx256m",
        "-XX:+UseSerialGC", "-Djdk.net.hosts.file=" + dir.resolve("hosts"),
        "-cp", System.getProperty("java.class.path"), ServerMain.class.getName(),
        "--id", "" + id, "--data-dir", dir.resolve("node" + id).toString(),
        "--client", "0.0.0.0:7000", "--peer", "0.0.0.0:7001", "--admin", "0.0.0.0:7002",
        "--advertise-peer", "node" + id + ":7001", "--advertise-client", "node" + id + ":7000",
        "--tick-ms", "50"));
    // Node 1 bootstraps; the others join it by name (a restarted joiner ignores --join).
    cmd.addAll(id == 1 ? List.of("--bootstrap") : List.of("--join", "node1:7000"));
    nodes[id] = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node" + id + ".log").toFile())).start();
  }

  private void kill(int id) throws InterruptedException {
    if (nodes[id] != null) {
      // `ip netns exec` execs the JVM, so this is the JVM's own pid.
      nodes[id].toHandle().destroyForcibly();
      nodes[id].waitFor(10, TimeUnit.SECONDS);
      nodes[id] = null;
    }
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int id = 1; id <= 3; id++) {
      kill(id);
    }
    for (String n : namespaces) {
      run("ip", "netns", "del", n);
    }
    if (bridgeCreated) {
      run("ip", "link", "del", tag + "br");
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void aNodeMovedToANewAddressUnderItsNameIsFoundAgain() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: needs root to create network namespaces (run the tests as root to include it)");
    Assumptions.assumeTrue(run("ip", "netns", "list"), "skipped: iproute2 network namespaces unavailable");
    setUpNetwork();
    writeHosts(13);
    for (int id = 1; id <= 3; id++) {
      start(id);
    }
    // The test itself is outside the hosts file's world: it talks to nodes by their IPs.
    String endpoints = ip(11) + ":7000," + ip(12) + ":7000," + ip(13) + ":7000";
    try (FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints)
        .withRequestTimeout(Duration.ofSeconds(30)))) {
      // Nodes 2 and 3 joined by name as learners and were promoted.
      await().atMost(Duration.ofSeconds(60)).until(() -> c.blocking().members().getMembersList().stream()
          .filter(m -> m.getRole().equals("voter")).count() == 3);
      for (int i = 0; i < 20; i++) {
        c.blocking().put(b("k" + i), b("v" + i));
      }
    }
    // Node 3 is rescheduled: it dies, comes back at another address under the same name.
    kill(3);
    must("ip", "netns", "exec", ns(3), "ip", "addr", "flush", "dev", tag + "c3");
    must("ip", "netns", "exec", ns(3), "ip", "addr", "add", ip(23) + "/24", "dev", tag + "c3");
    writeHosts(23);
    start(3);
    // Without node 1, nothing commits unless node 2 reaches node 3 at its new address.
    kill(1);
    String moved = ip(12) + ":7000," + ip(23) + ":7000";
    try (FlotillaClient c = new FlotillaClient(ClientOptions.of(moved)
        .withRequestTimeout(Duration.ofSeconds(60)))) {
      c.blocking().put(b("after-move"), b("yes"));
      assertThat(c.blocking().get(b("k7"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v7")));
      assertThat(c.blocking().get(b("after-move"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("yes")));
      // Both survivors have applied it: node 3 (at its new address) is really in the quorum.
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        StatusResult s2 = c.blocking().status(io.flotilla.client.Endpoint.parse(ip(12) + ":7000"));
        StatusResult s3 = c.blocking().status(io.flotilla.client.Endpoint.parse(ip(23) + ":7000"));
        return s2.getAppliedIndex() == s3.getAppliedIndex() && s3.getAppliedIndex() > 0;
      });
    }
  }
}
