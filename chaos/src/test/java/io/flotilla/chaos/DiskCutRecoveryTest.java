package io.flotilla.chaos;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import io.flotilla.server.local.LocalCluster;
import io.flotilla.wal.WalDamage;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos run's out-of-model disk fault at process level (docs/raft.md, "Recovery after a cut"):
 * three node processes; a follower is SIGKILLed and its WAL cut through its last record, which was
 * forced and acknowledged (and, the cluster being idle, committed and applied). It must restart
 * behind a recovery fence, report the cut in its log, {@code /status} and metrics, catch up, lift
 * the fence, and every acknowledged write must still be readable. Seeded: {@code -Dflotilla.seed=N}
 * picks where in the record the cut lands.
 */
class DiskCutRecoveryTest {
  @TempDir Path dir;

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void aFollowerWhoseDiskLostAnAcknowledgedRecordRejoinsBehindItsFenceAndLosesNoWrite()
      throws Exception {
    long seed = Long.getLong("flotilla.seed", 5);
    String rerun = "seed " + seed + ": rerun with ./mvnw -q -B -pl server -am test"
        + " -Dtest=DiskCutRecoveryTest -Dsurefire.failIfNoSpecifiedTests=false -Dflotilla.seed=" + seed;
    try (LocalCluster local = new LocalCluster(3, ChaosRunTest.freeBase(), dir)) {
      ClusterControl cluster = new ClusterControl(local);
      local.startAll();
      int leader = cluster.awaitHealthy(Duration.ofSeconds(90));
      assertThat(leader).as(rerun).isNotZero();
      int n = leader % 3 + 1;
      List<String> keys = new ArrayList<>();
      WalDamage.Patch cut;
      try (FlotillaClient c = new FlotillaClient(ClientOptions.of(local.clientEndpoints())
          .withRequestTimeout(Duration.ofSeconds(30)))) {
        for (int i = 0; i < 40; i++) {
          c.blocking().put(b("k" + i), b("v" + i));
          keys.add("k" + i);
        }
        assertThat(cluster.awaitCaughtUp(n, Duration.ofSeconds(60))).as(rerun).isTrue();
        long termBefore = cluster.status(n).path("term").asLong();

        local.kill(n);
        cut = WalDamage.cutLastRecord(local.dataDir(n).resolve("raft"),
            new SplittableRandom(seed));
        assertThat(cut).as(rerun).isNotNull();
        local.start(n);

        JsonNode rec = await("node " + n + " running and reporting its cut in /status (" + rerun + ")")
            .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> {
              JsonNode s = cluster.status(n);
              return s == null ? null : s.get("recovery");
            }, r -> r != null && !r.isNull());
        assertThat(rec.path("cutFromIndex").asLong()).as(rerun).isEqualTo(cut.index());
        assertThat(rec.path("untilIndex").asLong()).as(rerun).isGreaterThanOrEqualTo(cut.index());
        assertThat(rec.path("term").asLong()).as(rerun).isEqualTo(termBefore);

        // The cluster keeps serving, and the node comes out from behind its fence.
        for (int i = 40; i < 60; i++) {
          c.blocking().put(b("k" + i), b("v" + i));
          keys.add("k" + i);
        }
        await("node " + n + " out from behind its fence (" + rerun + ")").atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(100)).until(() -> {
              JsonNode s = cluster.status(n);
              return s != null && s.path("recovery").path("caughtUp").asBoolean();
            });
        assertThat(cluster.status(n).path("term").asLong()).as("moved past the cut's term")
            .isGreaterThan(termBefore);
        assertThat(cluster.awaitCaughtUp(n, Duration.ofSeconds(60))).as(rerun).isTrue();
        for (String k : keys) {
          byte[] expected = b("v" + k.substring(1));
          assertThat(c.blocking().get(b(k), Consistency.LINEARIZABLE)).as(k)
              .hasValueSatisfying(v -> assertThat(v).isEqualTo(expected));
        }
      }
      String log = Files.readString(local.logFile(n));
      assertThat(log).as(rerun).contains("recovery cut: entries from " + cut.index())
          .contains("recovery fence up").contains("recovery fence lifted");
      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://" + local.admin(n) + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertThat(metrics).contains("flotilla_raft_recovery_fenced 0.0");
      assertThat(metrics).containsPattern("flotilla_wal_recovery_cut_entries [1-9]");
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(() -> {
        List<String> seen = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
          JsonNode s = cluster.status(i);
          if (s == null) {
            return false;
          }
          seen.add(s.path("applied").asLong() + "/" + s.path("digest").asText());
        }
        return seen.stream().distinct().count() == 1;
      });
    }
  }
}
