package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.FlotillaClient;
import io.flotilla.raft.Message;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A running node's peer and admin ports where the Store and the status thread meet them. */
class NodeSurfacesTest {
  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();

  private HttpResponse<String> admin(FlotillaNode node, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminAddress().getPort() + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static long misrouted(String metrics) {
    Matcher m = Pattern.compile("flotilla_peer_dropped_total\\{reason=\"misrouted\",?\\} ([0-9.E]+)").matcher(metrics);
    return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
  }

  @Test
  void framesForAGroupTheNodeDoesNotHoldAreDroppedCountedAndTheNodeCarriesOn() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll(); FlotillaClient c = cluster.client()) {
      cluster.awaitLeader();
      FlotillaNode node = cluster.node(1);
      long before = misrouted(admin(node, "/metrics").body());
      InetSocketAddress peer = node.peerAddress();
      try (Socket s = new Socket("127.0.0.1", peer.getPort());
           DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
        for (long group : new long[] {0, 2, 99, Long.MAX_VALUE}) {
          // A message well-formed in every other way: from a node, to this one, its group consistent.
          byte[] frame = PeerFrames.message(group, new Message.Heartbeat(group, 2, 1, 1_000, 0, 0));
          out.writeInt(frame.length);
          out.write(frame);
        }
        out.flush();
        await().atMost(Duration.ofSeconds(20))
            .until(() -> misrouted(admin(node, "/metrics").body()) - before == 4);
      }
      assertThat(admin(node, "/health").body()).isEqualTo("ok\n");
      assertThat(node.isLeader()).isTrue(); // no higher term was taken from the stray frames
      c.blocking().put("after".getBytes(UTF_8), "stray frames".getBytes(UTF_8));
      assertThat(c.blocking().get("after".getBytes(UTF_8))).isNotEmpty();
    }
  }

  @Test
  void healthAnswersWhileStatusWaitsOnAStalledRaftLoop() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      FlotillaNode node = cluster.node(1);
      var stall = node.stallRaftLoopForTesting(4_000);
      long builds = node.statusBuildsStarted();
      // /status waits up to 2 s for the stalled loop. It used to do so on the admin port's only
      // event loop, holding /health behind it; now it waits on the status thread.
      CompletableFuture<HttpResponse<String>> status = CompletableFuture.supplyAsync(() -> {
        try {
          return admin(node, "/status");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      // The status request is in, its build waiting on the stalled loop.
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(2))
          .pollInterval(java.time.Duration.ofMillis(5)).until(() -> node.statusBuildsStarted() > builds);
      long start = System.nanoTime();
      HttpResponse<String> health = admin(node, "/health");
      long healthMillis = (System.nanoTime() - start) / 1_000_000;
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(status).as("status still waiting for the stalled loop").isNotDone();
      assertThat(healthMillis).as("/health answered while /status waited").isLessThan(1_000);
      assertThat(status.get().body()).contains("\"role\" : \"UNRESPONSIVE\"");
      stall.join();
      assertThat(admin(node, "/status").body()).contains("\"role\" : \"LEADER\"").contains("\"digest\"");
    }
  }

  private static double metric(String metrics, String regex) {
    Matcher m = Pattern.compile("(?m)^" + regex + " ([0-9.E+-]+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  @Test
  void metricsSayHowBusyTheWorkersAreHowMessagesTravelAndWhatEachRangeServed() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).startAll(); FlotillaClient c = cluster.client()) {
      long leader = cluster.awaitLeader();
      FlotillaClient direct = cluster.client(leader);
      for (int i = 0; i < 20; i++) {
        direct.blocking().put(("k" + i).getBytes(UTF_8), "v".getBytes(UTF_8));
      }
      for (int i = 0; i < 5; i++) {
        direct.blocking().get(("k" + i).getBytes(UTF_8));
      }
      String metrics = admin(cluster.node(leader), "/metrics").body();
      assertThat(metric(metrics, "flotilla_range_requests_total\\{kind=\"write\",range=\"1\",?\\}"))
          .as("writes range 1 served").isGreaterThanOrEqualTo(20);
      assertThat(metric(metrics, "flotilla_range_requests_total\\{kind=\"read\",range=\"1\",?\\}"))
          .as("reads range 1 served").isGreaterThanOrEqualTo(5);
      assertThat(metric(metrics, "flotilla_raft_worker_busy_seconds_total")).isGreaterThan(0);
      assertThat(metric(metrics, "flotilla_raft_rounds_total")).isGreaterThan(0);
      assertThat(metric(metrics, "flotilla_raft_workers")).isEqualTo(1);
      assertThat(metric(metrics, "flotilla_peer_frames_per_flush_count")).isGreaterThan(0);
      assertThat(metric(metrics, "flotilla_peer_frames_per_flush_sum"))
          .isGreaterThanOrEqualTo(metric(metrics, "flotilla_peer_frames_per_flush_count"));
      assertThat(admin(cluster.node(leader), "/status").body()).containsPattern("\"writes\" : (2[0-9]|[3-9][0-9])");
    }
  }
}
