package io.flotilla.server.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.KeyValue;
import io.flotilla.client.proto.RangeInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranges split by themselves (docs/ranges.md, "Splitting by itself"): by size, into pieces of
 * about half the limit in one pass, and by load, at the median of the keys asked for. Real nodes
 * in one JVM, fsync'd logs, RocksDB, loopback.
 */
class RangeSplitterTest {
  @TempDir
  Path dir;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> allKeys(FlotillaClient client) throws Exception {
    List<String> keys = new ArrayList<>();
    byte[] start = new byte[0];
    do {
      var page = client.scan(start, new byte[0], 1000, Consistency.LINEARIZABLE).get(10, TimeUnit.SECONDS);
      for (KeyValue kv : page.getEntriesList()) {
        keys.add(kv.getKey().toStringUtf8());
      }
      start = page.getContinuation().toByteArray();
    } while (start.length > 0);
    return keys;
  }

  @Test
  void aRangeOverTheSizeLimitIsCutIntoPiecesOfAboutHalfOfIt() throws Exception {
    SplitPolicy policy = new SplitPolicy(64 * 1024, 0, 10, 1);
    try (TestCluster cluster = new TestCluster(dir, 3, c -> c.withSplits(policy)).startAll();
         FlotillaClient client = cluster.client()) {
      cluster.awaitLeader();
      byte[] value = new byte[2048];
      List<CompletableFuture<Void>> puts = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        puts.add(client.put(b(String.format("user/%04d", i)), value));
      }
      CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      // ~630 KB: about 18 pieces of 32 KiB, each a range of its own, every node holding each.
      List<String> keys = allKeys(client);
      assertThat(keys).hasSize(300).isSorted();
      // Until no range holds more live data than the limit (the size estimate counts more: the
      // cuts are made on the keys and values themselves).
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        List<RangeInfo> ranges = client.ranges().get(10, TimeUnit.SECONDS).getRangesList();
        assertThat(ranges).hasSizeGreaterThanOrEqualTo(8);
        for (RangeInfo r : ranges) {
          String start = r.getStartKey().toStringUtf8();
          String end = r.getEndKey().toStringUtf8();
          long inRange = keys.stream()
              .filter(k -> k.compareTo(start) >= 0 && (end.isEmpty() || k.compareTo(end) < 0)).count();
          assertThat(inRange * (2048 + 9)).as("live bytes of range %d [%s, %s)", r.getRangeId(), start, end)
              .isLessThanOrEqualTo(policy.rangeMaxBytes());
        }
      });
      assertThat(allKeys(client)).isEqualTo(keys);
      int count = client.ranges().get(10, TimeUnit.SECONDS).getRangesCount();
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        for (long r = 1; r <= count; r++) {
          assertThat(cluster.rangeDigests(r)).as("range %d's digests", r).hasSize(1).doesNotContain("absent");
        }
      });
      client.put(b("user/0150"), b("after the splits")).get(10, TimeUnit.SECONDS);
      assertThat(client.get(b("user/0150")).get(10, TimeUnit.SECONDS).map(v -> new String(v, StandardCharsets.UTF_8)))
          .contains("after the splits");
    }
  }

  @Test
  void aRangeUnderLoadIsCutAtTheMedianOfTheKeysAskedFor() throws Exception {
    SplitPolicy policy = new SplitPolicy(0, 20, 2, 30);
    try (TestCluster cluster = new TestCluster(dir, 3, c -> c.withSplits(policy)).startAll();
         FlotillaClient client = cluster.client()) {
      cluster.awaitLeader();
      // Puts over 100 keys, well above 20 a second, until the range splits once.
      int i = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (client.ranges().get(10, TimeUnit.SECONDS).getRangesCount() < 2 && System.nanoTime() < deadline) {
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        for (int n = 0; n < 50; n++, i++) {
          puts.add(client.put(b(String.format("hot/%03d", i % 100)), b("v")));
        }
        CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      }
      List<RangeInfo> ranges = client.ranges().get(10, TimeUnit.SECONDS).getRangesList();
      assertThat(ranges).hasSizeGreaterThanOrEqualTo(2);
      String cut = ranges.get(1).getStartKey().toStringUtf8();
      assertThat(cut).as("the cut, near the middle of hot/000..hot/099").isBetween("hot/020", "hot/080");
    }
  }
}
