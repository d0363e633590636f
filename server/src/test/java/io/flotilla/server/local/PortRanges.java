package io.flotilla.server.local;

import java.net.ServerSocket;
import java.util.SplittableRandom;

/** Port ranges for local test clusters whose nodes are killed and restarted. */
public final class PortRanges {
  private PortRanges() {}

  /**
   * A base port in [{@code from}, {@code to}) whose 3 nodes x 3 ports (BASE+10(N-1), +1, +2) are
   * free right now. Keep {@code to} below the kernel's ephemeral range (32768+): there an outgoing
   * connection can take a killed node's port, and its restart then fails to bind.
   */
  public static int freeBase(int from, int to) {
    SplittableRandom rnd = new SplittableRandom();
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = from + 10 * rnd.nextInt((to - from - 30) / 10);
      if (allFree(base)) {
        return base;
      }
    }
    throw new IllegalStateException("no free port range in " + from + "-" + to);
  }

  private static boolean allFree(int base) {
    for (int i = 0; i < 3; i++) {
      for (int k = 0; k < 3; k++) {
        try (ServerSocket s = new ServerSocket(base + 10 * i + k)) {
          s.setReuseAddress(true);
        } catch (java.io.IOException e) {
          return false;
        }
      }
    }
    return true;
  }
}
