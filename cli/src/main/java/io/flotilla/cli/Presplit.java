package io.flotilla.cli;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.RangeInfo;
import io.flotilla.client.proto.RangeListResult;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * {@code --ranges N} of {@code local} and {@code bench --local}: splits a fresh cluster into N
 * ranges evenly over the key space the load generator writes ({@code key-%010d} for keys in
 * {@code [0, keys)}), then hands range i's leadership to node {@code 1 + i % nodes}, so the
 * ranges' leaders are spread evenly over the nodes.
 */
final class Presplit {
  private Presplit() {}

  static void apply(String endpoints, int ranges, long keys, int nodes, PrintWriter out) {
    if (ranges < 1) {
      throw new IllegalArgumentException("--ranges must be at least 1: " + ranges);
    }
    if (ranges == 1) {
      return;
    }
    try (FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(30)))) {
      for (int i = 1; i < ranges; i++) {
        String key = String.format("key-%010d", i * keys / ranges);
        c.splitRange(key.getBytes(StandardCharsets.UTF_8)).join();
      }
      RangeListResult list = awaitLeaders(c, ranges);
      int i = 0;
      for (RangeInfo r : list.getRangesList()) {
        long target = 1 + (i++ % nodes);
        if (r.getLeaderId() != target) {
          c.transferRangeLeader(r.getRangeId(), target).join();
        }
      }
      out.printf("%d ranges over key-%010d..key-%010d, leaders spread over %d nodes%n", ranges, 0, keys - 1, nodes);
      out.flush();
    }
  }

  /** The ranges once each has a leader (a range a split just made elects within moments). */
  private static RangeListResult awaitLeaders(FlotillaClient c, int ranges) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      RangeListResult list = c.ranges().join();
      if (list.getRangesCount() >= ranges && list.getRangesList().stream().allMatch(r -> r.getLeaderId() != 0)) {
        return list;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the ranges have no leader yet after 30 s: " + list);
      }
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // polling another process
    }
  }
}
