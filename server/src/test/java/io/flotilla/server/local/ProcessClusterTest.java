package io.flotilla.server.local;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
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
 * every acknowledged write.
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
}
