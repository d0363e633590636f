package io.flotilla.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 7: a follower cut off by a network that silently drops its packets (no reset,
 * no close) for about 30 s (3,000 writes) under writes is back, knowing the leader and holding everything the leader
 * had at the heal, within one election timeout of the heal. Before, the links stayed on their dead
 * connections until TCP's next retransmission (backoff doubling to 120 s).
 *
 * <p>Three JVMs, each in its own network namespace on a bridge. The partition is a
 * {@code pfifo limit 0} queue (drops every packet) on both ends of the follower's veth pair; the
 * neighbours are static, so no ARP failure tells anyone anything. Needs root and iproute2 with tc;
 * skipped with a message otherwise.
 */
class PartitionHealTest {
  private static final long TICK_MS = 100;
  /** The longest election timeout: 20 ticks. */
  private static final long ELECTION_TIMEOUT_MS = 20 * TICK_MS;
  /**
   * The partition lasts until the majority took this many writes without the follower: about
   * 30 s at the writer's pace of 100 a second (long enough for TCP's retransmission backoff to
   * grow, which is what the defect waited out), longer on a slower machine.
   */
  private static final long PARTITION_WRITES = 3_000;

  @TempDir Path dir;
  private final String tag = "fh" + Integer.toHexString(new SplittableRandom().nextInt(0x1000, 0xffff));
  private final int net = 100 + new SplittableRandom().nextInt(100);
  private final Process[] nodes = new Process[4];
  private final List<String> namespaces = new ArrayList<>();
  private boolean bridgeCreated;
  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private static String output(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), UTF_8);
      boolean ok = p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0;
      if (!ok) {
        System.err.println("failed: " + String.join(" ", cmd) + "\n" + out);
        return null;
      }
      return out;
    } catch (IOException | InterruptedException e) {
      return null;
    }
  }

  private static void must(String... cmd) {
    if (output(cmd) == null) {
      throw new IllegalStateException("command failed: " + String.join(" ", cmd));
    }
  }

  private String ip(int host) {
    return "10.214." + net + "." + host;
  }

  private String ns(int id) {
    return tag + "n" + id;
  }

  private void setUpNetwork() {
    must("ip", "link", "add", tag + "br", "type", "bridge");
    bridgeCreated = true;
    must("ip", "addr", "add", ip(1) + "/24", "dev", tag + "br");
    must("ip", "link", "set", tag + "br", "up");
    String[] macs = new String[4];
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
      macs[id] = output("ip", "netns", "exec", ns(id), "cat", "/sys/class/net/" + tag + "c" + id + "/address").trim();
    }
    String bridgeMac = output("cat", "/sys/class/net/" + tag + "br/address").trim();
    // Static neighbours: with packets dropped, failed ARP would otherwise report the host
    // unreachable (ICMP, fast errors), which a real silent partition does not.
    for (int id = 1; id <= 3; id++) {
      for (int other = 1; other <= 3; other++) {
        if (other != id) {
          must("ip", "netns", "exec", ns(id), "ip", "neigh", "replace", ip(10 + other), "lladdr",
              macs[other], "dev", tag + "c" + id, "nud", "permanent");
        }
      }
      must("ip", "netns", "exec", ns(id), "ip", "neigh", "replace", ip(1), "lladdr", bridgeMac,
          "dev", tag + "c" + id, "nud", "permanent");
      must("ip", "neigh", "replace", ip(10 + id), "lladdr", macs[id], "dev", tag + "br", "nud", "permanent");
    }
  }

  /** Every packet to and from node {@code id} is dropped (on), or none (off). */
  private void cutOff(int id, boolean on) {
    if (on) {
      must("tc", "qdisc", "replace", "dev", tag + "h" + id, "root", "pfifo", "limit", "0");
      must("ip", "netns", "exec", ns(id), "tc", "qdisc", "replace", "dev", tag + "c" + id, "root",
          "pfifo", "limit", "0");
    } else {
      must("tc", "qdisc", "del", "dev", tag + "h" + id, "root");
      must("ip", "netns", "exec", ns(id), "tc", "qdisc", "del", "dev", tag + "c" + id, "root");
    }
  }

  private void start(int id) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String members = "1=" + ip(11) + ":7001/" + ip(11) + ":7000,2=" + ip(12) + ":7001/" + ip(12)
        + ":7000,3=" + ip(13) + ":7001/" + ip(13) + ":7000";
    // The test class path's logback-test.xml logs WARN only; link restorations are INFO.
    Path logConfig = dir.resolve("logback.xml");
    Files.writeString(logConfig, "<configuration><appender name=\"E\" class=\"ch.qos.logback.core"
        + ".ConsoleAppender\"><target>System.err</target><encoder><pattern>%d{HH:mm:ss.SSS} %-5level"
        + " [%thread] %logger{20} - %msg%n</pattern></encoder></appender><logger name=\"io.flotilla\""
        + " level=\"INFO\"/><root level=\"WARN\"><appender-ref ref=\"E\"/></root></configuration>");
    nodes[id] = new ProcessBuilder("ip", "netns", "exec", ns(id), java, "-Xmx256m",
        "-XX:+UseSerialGC", "-Dlogback.configurationFile=" + logConfig, "-cp", System.getProperty("java.class.path"),
        ServerMain.class.getName(), "--id", "" + id,
        "--data-dir", dir.resolve("node" + id).toString(), "--client", "0.0.0.0:7000",
        "--peer", "0.0.0.0:7001", "--admin", "0.0.0.0:7002", "--members", members,
        "--tick-ms", "" + TICK_MS)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node" + id + ".log").toFile()))
        .start();
  }

  private JsonNode status(int id) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + ip(10 + id)
          + ":7002/status")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? json.readTree(r.body()) : null;
    } catch (IOException | InterruptedException e) {
      return null;
    }
  }

  private String metrics(int id) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://" + ip(10 + id) + ":7002/metrics"))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  @AfterEach
  void tearDown() throws Exception {
    for (int id = 1; id <= 3; id++) {
      if (nodes[id] != null) {
        nodes[id].toHandle().destroyForcibly();
        nodes[id].waitFor(10, TimeUnit.SECONDS);
      }
    }
    for (String n : namespaces) {
      output("ip", "netns", "del", n);
    }
    if (bridgeCreated) {
      output("ip", "link", "del", tag + "br");
    }
  }

  @Test
  void aFollowerCutOffSilentlyFor3000WritesIsBackWithinElectionTimeoutsOfTheHeal() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: needs root to create network namespaces (run the tests as root to include it)");
    Assumptions.assumeTrue(output("ip", "netns", "list") != null, "skipped: no network namespaces");
    Assumptions.assumeTrue(output("tc", "-V") != null, "skipped: no tc (iproute2)");
    setUpNetwork();
    for (int id = 1; id <= 3; id++) {
      start(id);
    }
    String endpoints = ip(11) + ":7000," + ip(12) + ":7000," + ip(13) + ":7000";
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicLong written = new AtomicLong();
    try (FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints)
        .withRequestTimeout(Duration.ofSeconds(30)))) {
      long leader = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
          .until(() -> c.blocking().members().getLeaderId(), id -> id > 0);
      int follower = leader == 1 ? 2 : 1;
      for (int i = 0; i < 20; i++) {
        c.blocking().put(("k" + i).getBytes(UTF_8), "v".getBytes(UTF_8));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> {
        JsonNode s = status(follower);
        return s != null && s.path("leader").asLong() == leader;
      });
      // Writes all along: the follower has entries to catch up on after the heal.
      Thread writer = new Thread(() -> {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        long next = System.nanoTime();
        while (writing.get() && System.nanoTime() < deadline) {
          // Paced at about 100 writes/s: the catch-up after the heal is a few thousand entries,
          // the same on an idle and on a busy machine.
          next += TimeUnit.MILLISECONDS.toNanos(10);
          java.util.concurrent.locks.LockSupport.parkNanos(next - System.nanoTime());
          try {
            c.blocking().put(("w" + written.get()).getBytes(UTF_8), "v".getBytes(UTF_8));
            written.incrementAndGet();
          } catch (RuntimeException e) {
            // an attempt at the cut-off node, retried by the client; keep going
          }
        }
      }, "writer");
      writer.start();
      cutOff(follower, true);
      long atCut = written.get();
      // Until the leader knows its link to the follower is lost and the majority has gone on
      // without it for PARTITION_WRITES writes.
      await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200)).until(() ->
          written.get() - atCut >= PARTITION_WRITES
              && metrics((int) leader).contains("flotilla_peer_link_up{peer=\"" + follower + "\"} 0.0"));
      JsonNode atHeal = status((int) leader);
      assertThat(atHeal).as("leader's status at the heal").isNotNull();
      assertThat(atHeal.path("leader").asLong()).as("the majority kept its leader").isEqualTo(leader);
      long leaderLast = atHeal.path("lastLogIndex").asLong();
      long healed = System.nanoTime();
      cutOff(follower, false);
      // Back: first knows the leader (the leader's link to it works again), then holds everything
      // the leader had at the heal (its link to the leader works too).
      long[] back = {-1, -1};
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
        JsonNode s = status(follower);
        long now = System.nanoTime() - healed;
        if (s != null && s.path("leader").asLong() == leader && back[0] < 0) {
          back[0] = now;
        }
        if (s != null && s.path("leader").asLong() == leader
            && s.path("lastLogIndex").asLong() >= leaderLast) {
          back[1] = now;
        }
        return back[1] >= 0;
      });
      writing.set(false);
      writer.join(TimeUnit.SECONDS.toMillis(40));
      long knowsMs = TimeUnit.NANOSECONDS.toMillis(back[0]);
      long backMs = TimeUnit.NANOSECONDS.toMillis(back[1]);
      System.out.printf("partition heal: follower %d knew the leader %d ms and matched its log %d ms"
          + " after the heal (leader %d, %d writes, leader's last index at the heal %d)%n", follower,
          knowsMs, backMs, leader, written.get(), leaderLast);
      assertThat(written.get()).as("writes went on without the follower").isPositive();
      // The defect this guards against kept the links on dead connections until TCP's next
      // retransmission (up to 120 s). On an idle machine the follower is back within one election
      // timeout (the printed figure; docs/testing.md); three JVMs on two cores under a loaded CI
      // run took 2.5 s once, so the bound allows three timeouts, still far from any retransmission.
      assertThat(knowsMs).as("ms from heal to the follower knowing the leader")
          .isLessThanOrEqualTo(3 * ELECTION_TIMEOUT_MS);
      assertThat(backMs).as("ms from heal to the follower matching the leader's log at the heal")
          .isLessThanOrEqualTo(3 * ELECTION_TIMEOUT_MS);
      // The leader logged the loss and the return of its link to the follower once per
      // transition (not per frame or per redial: ~50 redials failed meanwhile), and counted them.
      // (A stall of this loaded machine may add a transition of its own; never one per redial.)
      String log = Files.readString(dir.resolve("node" + leader + ".log"));
      String link = "peer link to " + follower + " at ";
      long lost = log.lines().filter(l -> l.contains(link) && l.contains(" lost: ")).count();
      long restored = log.lines().filter(l -> l.contains(link) && l.contains(" restored after ")).count();
      log.lines().filter(l -> l.contains(link)).forEach(System.out::println);
      assertThat(lost).isBetween(1L, 3L);
      assertThat(restored).isEqualTo(lost);
      String m = metrics((int) leader);
      assertThat(m).contains("flotilla_peer_link_lost_total{peer=\"" + follower + "\"} " + lost + ".0")
          .contains("flotilla_peer_link_restored_total{peer=\"" + follower + "\"} " + restored + ".0");
    } finally {
      writing.set(false);
    }
  }
}
