package io.flotilla.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.RangeListResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that has not applied a split still gets the range the split made (docs/ranges.md,
 * "Placeholders"): the new range's leader makes a placeholder there, which either receives the
 * range's snapshot (the node's replica of the parent caught up from a snapshot taken after the
 * split, so it never applies the split) or is replaced by the split's own replica (the split
 * entry was only late). Real nodes in one JVM, fsync'd logs, RocksDB, loopback.
 */
class PlaceholderRangesTest {

  @TempDir
  Path dir;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aNodeWhoseParentRangeCaughtUpFromASnapshotPastTheSplitReceivesTheNewRange() throws Exception {
    // Snapshots every 50 entries: the parent's log is compacted past the split while a node hears
    // nothing from its leader (a partition drops the frames: a stopped node would get the ones its
    // peer link buffered, the split entry among them, when it came back).
    try (TestCluster cluster = new TestCluster(dir, 3, c -> c.withSnapshots(50, 0).withFaultInjection(true)).startAll();
         FlotillaClient client = cluster.client()) {
      long leader = cluster.awaitLeader();
      long down = leader % 3 + 1;
      for (char c = 'a'; c <= 'z'; c++) {
        client.put(b(String.valueOf(c)), b("v" + c)).get(10, TimeUnit.SECONDS);
      }
      fault(cluster.node(leader), "drop-to=" + down);
      assertThat(client.splitRange(b("m")).get(10, TimeUnit.SECONDS).getRangesCount()).isEqualTo(2);
      for (int i = 0; i < 300; i++) {
        client.put(b("b" + i), b("left" + i)).get(10, TimeUnit.SECONDS); // range 1: compacts past the split
        if (i % 3 == 0) {
          client.put(b("x" + i), b("right" + i)).get(10, TimeUnit.SECONDS); // range 2
        }
      }
      fault(cluster.node(leader), "drop-to=");
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        assertThat(cluster.node(down).rangeDigest(2)).as("range 2 on node %d", down).isNotEqualTo("absent");
        for (long r = 1; r <= 2; r++) {
          assertThat(cluster.rangeDigests(r)).as("range %d's digests on the three nodes", r).hasSize(1);
        }
        assertThat(cluster.node(down).placeholders()).isEmpty();
      });
      // Node `down` is a full replica of range 2 now: it serves it and its writes replicate.
      FlotillaClient via = cluster.client(down);
      assertThat(via.get(b("x297"), Consistency.SERIALIZABLE).get(10, TimeUnit.SECONDS)
          .map(v -> new String(v, StandardCharsets.UTF_8))).contains("right297");
      assertThat(via.get(b("b299"), Consistency.SERIALIZABLE).get(10, TimeUnit.SECONDS)
          .map(v -> new String(v, StandardCharsets.UTF_8))).contains("left299");
      via.put(b("y"), b("after")).get(10, TimeUnit.SECONDS);
      RangeListResult seen = via.ranges().get(10, TimeUnit.SECONDS);
      assertThat(seen.getRangesList()).hasSize(2).allMatch(r -> r.getReplicasCount() == 3 && r.getLeaderId() != 0);
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
          assertThat(cluster.rangeDigests(2)).as("range 2 after a write").hasSize(1));
    }
  }

  @Test
  void aPlaceholderMadeBeforeTheSplitAppliesIsReplacedByTheSplitsReplica() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3, c -> c.withFaultInjection(true)).startAll();
         FlotillaClient client = cluster.client()) {
      long leader = cluster.awaitLeader();
      long behind = leader % 3 + 1;
      long third = behind % 3 + 1;
      for (char c = 'a'; c <= 'z'; c++) {
        client.put(b(String.valueOf(c)), b("v" + c)).get(10, TimeUnit.SECONDS);
      }
      // The parent's leader stops talking to `behind`: the split entry does not reach it.
      fault(cluster.node(leader), "drop-to=" + behind);
      client.splitRange(b("m")).get(10, TimeUnit.SECONDS);
      // Range 2's leader moves to the third node, which does talk to `behind`: its messages make
      // a placeholder there, whose snapshot cannot install while range 1 there still holds [m, ...).
      assertThat(cluster.client(leader).transferRangeLeader(2, third).get(10, TimeUnit.SECONDS)).isEqualTo(third);
      for (int i = 0; i < 20; i++) {
        client.put(b("x" + i), b("right" + i)).get(10, TimeUnit.SECONDS);
      }
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
          assertThat(cluster.node(behind).placeholders()).as("placeholders on node %d", behind).containsExactly(2L));
      assertThat(cluster.node(behind).rangeDigest(2)).isEqualTo("absent");
      // Healed, the split entry arrives and its replica takes the placeholder's place.
      fault(cluster.node(leader), "drop-to=");
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        assertThat(cluster.node(behind).placeholders()).isEmpty();
        for (long r = 1; r <= 2; r++) {
          assertThat(cluster.rangeDigests(r)).as("range %d's digests on the three nodes", r).hasSize(1);
        }
      });
      assertThat(cluster.client(behind).get(b("x19"), Consistency.SERIALIZABLE).get(10, TimeUnit.SECONDS)
          .map(v -> new String(v, StandardCharsets.UTF_8))).contains("right19");
    }
  }

  private static void fault(FlotillaNode node, String query) throws Exception {
    var addr = node.adminAddress();
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + addr.getPort() + "/fault?" + query))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("POST /fault?%s: %s", query, r.body()).isEqualTo(200);
  }
}
