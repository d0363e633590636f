package io.flotilla.cli;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.RangePresplit;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --ranges N} of {@code local} and {@code bench --local}: splits a fresh cluster into N
 * ranges evenly over the key space the load generator writes ({@code key-%010d} for keys in
 * {@code [0, keys)}), leaders spread evenly over the nodes ({@link RangePresplit}, which the
 * chaos run shares with its own split keys).
 */
final class Presplit {
  private Presplit() {}

  static void apply(String endpoints, int ranges, long keys, int nodes, PrintWriter out) {
    apply(endpoints, null, ranges, keys, nodes, out);
  }

  /** As above over TLS ({@code tls}; null: plain text). */
  static void apply(String endpoints, io.flotilla.client.tls.ClientTls tls, int ranges, long keys, int nodes, PrintWriter out) {
    if (ranges < 1) {
      throw new IllegalArgumentException("--ranges must be at least 1: " + ranges);
    }
    if (ranges == 1) {
      return;
    }
    try (FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(30)).withTls(tls))) {
      RangePresplit.apply(c, splitKeys(ranges, keys), nodes, Duration.ofSeconds(30));
      out.printf("%d ranges over key-%010d..key-%010d, leaders spread over %d nodes%n", ranges, 0, keys - 1, nodes);
      out.flush();
    }
  }

  /** The N-1 keys that split {@code key-%010d}, {@code [0, keys)}, into N even ranges. */
  static List<byte[]> splitKeys(int ranges, long keys) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 1; i < ranges; i++) {
      out.add(String.format("key-%010d", i * keys / ranges).getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }
}
