package io.flotilla.server.local;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.RangePresplit;
import io.flotilla.client.proto.Consistency;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes as separate JVMs on loopback, with snapshots every 200 entries: a follower killed
 * with SIGKILL while the leader compacts its log past everything the follower has catches up from
 * a snapshot; SIGTERM of the leader hands leadership over first; a whole-cluster restart keeps
 * every acknowledged write. Sixteen ranges keep taking writes on every range through a SIGKILL
 * of a node that leads a third of them, and a SIGKILL of every node.
 */
class ProcessClusterTest {
  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();

  private JsonNode status(LocalCluster cluster, int id) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          URI.create("http://" + cluster.admin(id) + "/status")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? json.readTree(r.body()) : null;
    } catch (Exception e) {
      return null; // not up (yet)
    }
  }

  private int awaitLeader(LocalCluster cluster) {
    return await().atMost(Duration.ofSeconds(60)).until(() -> {
      for (int i = 1; i <= 3; i++) {
        JsonNode s = cluster.alive(i) ? status(cluster, i) : null;
        if (s != null && "LEADER".equals(s.path("role").asText())) {
          return i;
        }
      }
      return 0;
    }, i -> i > 0);
  }

  /** Same applied index and the same state digest on every node. */
  private void awaitConverged(LocalCluster cluster) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
      List<String> seen = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        JsonNode s = status(cluster, i);
        if (s == null || !s.has("digest")) {
          return false;
        }
        seen.add(s.path("applied").asLong() + "/" + s.path("digest").asText());
      }
      return seen.stream().distinct().count() == 1;
    });
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void snapshotCatchUpGracefulLeaderStopAndFullRestart() throws Exception {
    try (LocalCluster cluster = new LocalCluster(3, PortRanges.freeBase(20_000, 32_000), dir,
        List.of("--snapshot-entries", "200"))) {
      cluster.startAll();
      int leader = awaitLeader(cluster);
      int follower = leader % 3 + 1;
      try (FlotillaClient c = new FlotillaClient(ClientOptions.of(cluster.clientEndpoints())
          .withRequestTimeout(Duration.ofSeconds(30)))) {
        for (int i = 0; i < 20; i++) {
          c.blocking().put(b("k" + i), b("v" + i));
        }
        cluster.kill(follower);
        for (int i = 20; i < 700; i++) {
          c.blocking().put(b("k" + i), b("v" + i));
        }
        // The leader's log now starts past everything the killed follower holds.
        int l = leader;
        await().atMost(Duration.ofSeconds(30)).until(() -> status(cluster, l).path("snapshotIndex").asLong() > 200);
        cluster.start(follower);
        awaitConverged(cluster);
        assertThat(status(cluster, follower).path("snapshotsInstalled").asLong()).isPositive();

        // SIGTERM of the leader: leadership is handed to a follower before the process exits.
        cluster.terminate(leader);
        assertThat(Files.readString(cluster.logFile(leader))).contains("stopped (leadership handed to node");
        c.blocking().put(b("after-handover"), b("yes"));
        cluster.start(leader);
        awaitConverged(cluster);
      }
      // Every node down (SIGTERM), every node up: all acknowledged writes are there.
      cluster.stopAll();
      cluster.startAll();
      try (FlotillaClient c = new FlotillaClient(ClientOptions.of(cluster.clientEndpoints())
          .withRequestTimeout(Duration.ofSeconds(30)))) {
        for (int i = 0; i < 700; i += 7) {
          byte[] expected = b("v" + i);
          assertThat(c.blocking().get(b("k" + i), Consistency.LINEARIZABLE)).as("k" + i)
              .hasValueSatisfying(v -> assertThat(v).isEqualTo(expected));
        }
        assertThat(c.blocking().get(b("after-handover"), Consistency.FOLLOWER))
            .hasValueSatisfying(v -> assertThat(v).isEqualTo(b("yes")));
      }
      awaitConverged(cluster);
    }
  }

  /** Every node reports {@code ranges} ranges, each with the same applied index and digest. */
  private void awaitRangesConverged(LocalCluster cluster, int ranges) {
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> {
      java.util.Map<Long, java.util.Set<String>> seen = new java.util.HashMap<>();
      for (int i = 1; i <= 3; i++) {
        JsonNode s = status(cluster, i);
        if (s == null || s.path("ranges").size() != ranges) {
          return false;
        }
        for (JsonNode r : s.path("ranges")) {
          seen.computeIfAbsent(r.path("id").asLong(), k -> new java.util.HashSet<>())
              .add(r.path("applied").asLong() + "/" + r.path("digest").asText());
        }
      }
      return seen.size() == ranges && seen.values().stream().allMatch(v -> v.size() == 1);
    });
  }

  @Test
  void sixteenRangesTakeWritesOnEveryRangeThroughAKill9OfANodeAndOfTheWholeCluster() throws Exception {
    try (LocalCluster cluster = new LocalCluster(3, PortRanges.freeBase(20_000, 32_000), dir)) {
      cluster.startAll();
      awaitLeader(cluster);
      List<String> keys = new ArrayList<>();
      try (FlotillaClient c = new FlotillaClient(ClientOptions.of(cluster.clientEndpoints())
          .withRequestTimeout(Duration.ofSeconds(30)))) {
        List<byte[]> splits = new ArrayList<>();
        for (int r = 1; r < 16; r++) {
          splits.add(b(String.format("r%02d", r)));
        }
        // Range i (in key order) led by node 1 + i % 3: node 2 leads five of the sixteen.
        assertThat(RangePresplit.apply(c, splits, 3, Duration.ofSeconds(60)).getRangesCount()).isEqualTo(16);
        cluster.kill(2);
        for (int r = 0; r < 16; r++) {
          for (int i = 0; i < 5; i++) {
            String k = String.format("r%02d-%d", r, i);
            c.blocking().put(b(k), b("v-" + k));
            keys.add(k);
          }
        }
        cluster.start(2);
        awaitRangesConverged(cluster, 16);
      }
      for (int i = 1; i <= 3; i++) {
        cluster.kill(i);
      }
      cluster.startAll();
      try (FlotillaClient c = new FlotillaClient(ClientOptions.of(cluster.clientEndpoints())
          .withRequestTimeout(Duration.ofSeconds(30)))) {
        for (String k : keys) {
          byte[] expected = b("v-" + k);
          assertThat(c.blocking().get(b(k), Consistency.LINEARIZABLE)).as(k)
              .hasValueSatisfying(v -> assertThat(v).isEqualTo(expected));
        }
        c.blocking().put(b("r15-after"), b("yes"));
      }
      awaitRangesConverged(cluster, 16);
    }
  }
}
