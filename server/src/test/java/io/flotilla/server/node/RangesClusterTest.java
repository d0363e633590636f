package io.flotilla.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.KeyValue;
import io.flotilla.client.proto.RangeInfo;
import io.flotilla.client.proto.RangeListResult;
import io.flotilla.client.proto.TxnOp;
import io.flotilla.client.proto.TxnRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many ranges on real nodes (three in one JVM, fsync'd logs, RocksDB, loopback): splits through
 * the client protocol, each range its own Raft group with its own leader, requests routed (and
 * forwarded) by key from any node, scans stitched across ranges, cross-range transactions
 * refused, a node stopped and restarted catching every range up to equal digests, every range's
 * log in the node's one shared WAL.
 */
class RangesClusterTest {

  @TempDir
  Path dir;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void splitRangesServeTheirKeysFromAnyNodeAndCatchUpAfterARestart() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).startAll();
         FlotillaClient client = new FlotillaClient(ClientOptions.of(cluster.endpoints()))) {
      cluster.awaitLeader();
      for (char c = 'a'; c <= 'z'; c++) {
        client.put(b(String.valueOf(c)), b("v" + c)).get(10, TimeUnit.SECONDS);
      }
      RangeListResult ranges = client.splitRange(b("h")).get(10, TimeUnit.SECONDS);
      assertThat(ranges.getRangesList()).hasSize(2);
      ranges = client.splitRange(b("p")).get(10, TimeUnit.SECONDS);
      assertThat(ranges.getRangesList()).extracting(RangeInfo::getRangeId).containsExactly(1L, 2L, 3L);
      assertThat(ranges.getRangesList()).extracting(r -> s(r.getStartKey().toByteArray())).containsExactly("", "h", "p");
      // Splitting at a boundary is done already.
      assertThat(client.splitRange(b("p")).get(10, TimeUnit.SECONDS).getRangesCount()).isEqualTo(3);
      // Every node learns of both splits and holds a replica of each new range with a leader.
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        for (long n = 1; n <= 3; n++) {
          RangeListResult seen = cluster.client(n).ranges().get(5, TimeUnit.SECONDS);
          assertThat(seen.getRangesList()).hasSize(3).allMatch(r -> r.getLeaderId() != 0 && r.getReplicasCount() == 3);
        }
      });
      // Spread the leaders: range 3 to another node than range 1's.
      long leader1 = ranges.getRanges(0).getLeaderId();
      long other = leader1 % 3 + 1;
      assertThat(client.transferRangeLeader(3, other).get(10, TimeUnit.SECONDS)).isEqualTo(other);

      // Writes and reads of every range through every node (the others forward to each range's leader).
      for (long n = 1; n <= 3; n++) {
        FlotillaClient via = cluster.client(n);
        for (String k : List.of("c", "k", "x")) {
          via.put(b(k), b(k + n)).get(10, TimeUnit.SECONDS);
          assertThat(via.get(b(k), Consistency.LINEARIZABLE).get(10, TimeUnit.SECONDS).map(RangesClusterTest::s))
              .contains(k + n);
        }
      }
      // A range-aware client (the Java client's range cache) sends each key's request straight to
      // its range's leader: once its cache is warm, no node forwards anything. (Leaders of ranges
      // 1 and 3 differ, so a client without the cache makes at least one forward per round.)
      try (FlotillaClient aware = cluster.client()) {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
          long before = cluster.forwardedRequests();
          for (String k : List.of("c", "k", "x", "d", "m", "y")) {
            aware.put(b(k), b("routed")).get(10, TimeUnit.SECONDS);
          }
          assertThat(cluster.forwardedRequests()).as("forwarded requests").isEqualTo(before);
        });
      }
      // A scan over all keys comes back whole, in order, page by page across the ranges.
      List<String> keys = new ArrayList<>();
      byte[] start = new byte[0];
      do {
        var page = client.scan(start, new byte[0], 1000, Consistency.LINEARIZABLE).get(10, TimeUnit.SECONDS);
        for (KeyValue kv : page.getEntriesList()) {
          keys.add(s(kv.getKey().toByteArray()));
        }
        start = page.getContinuation().toByteArray();
      } while (start.length > 0);
      assertThat(keys).hasSize(26).isSorted();
      // A transaction over two ranges is refused; inside one it runs.
      TxnRequest across = TxnRequest.newBuilder()
          .addSuccess(TxnOp.newBuilder().setPut(io.flotilla.client.proto.PutRequest.newBuilder()
              .setKey(com.google.protobuf.ByteString.copyFromUtf8("b")).setValue(com.google.protobuf.ByteString.copyFromUtf8("1"))))
          .addSuccess(TxnOp.newBuilder().setPut(io.flotilla.client.proto.PutRequest.newBuilder()
              .setKey(com.google.protobuf.ByteString.copyFromUtf8("y")).setValue(com.google.protobuf.ByteString.copyFromUtf8("1"))))
          .build();
      Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> client.txn(across).join());
      assertThat(refused).isInstanceOf(CompletionException.class);
      assertThat(((FlotillaException) refused.getCause()).code()).isEqualTo(Error.Code.CROSS_RANGE);
      assertThat(client.get(b("b")).get(10, TimeUnit.SECONDS).map(RangesClusterTest::s)).contains("vb");

      // A node stopped while every range takes writes comes back and catches up every range.
      long stopped = other;
      cluster.stop(stopped);
      for (char c = 'a'; c <= 'z'; c++) {
        client.put(b(String.valueOf(c)), b("after-" + c)).get(10, TimeUnit.SECONDS);
      }
      cluster.start(stopped);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        for (long r = 1; r <= 3; r++) {
          assertThat(cluster.rangeDigests(r)).as("range %d's digests on the three nodes", r).hasSize(1);
        }
      });
      assertThat(cluster.client(stopped).get(b("z"), Consistency.SERIALIZABLE).get(10, TimeUnit.SECONDS)
          .map(RangesClusterTest::s)).contains("after-z");
      // One shared log per node holds every range's records (no log directory per range); each
      // range made by a split has its snapshot metadata beside it.
      for (long n = 1; n <= 3; n++) {
        Path data = dir.resolve("n" + n);
        try (var files = java.nio.file.Files.list(data)) {
          assertThat(files.map(p -> p.getFileName().toString()).toList()).as("node %d's data directory", n)
              .contains("raft", "raft-snapshots", "state").noneMatch(f -> f.matches("raft-[0-9]+"));
        }
        assertThat(data.resolve("raft-snapshots").resolve("raft-snapshot-3")).exists();
      }
    }
  }
}
