package io.flotilla.server.node;

import java.net.ServerSocket;
import java.util.SplittableRandom;

/** Ports for in-JVM test clusters. */
final class TestPorts {
  private static final SplittableRandom PORTS = new SplittableRandom();
  private static final java.util.Set<Integer> handedOut = new java.util.HashSet<>();

  private TestPorts() {}

  /**
   * A port free right now, below the kernel's ephemeral range (32768+): ports from
   * {@code new ServerSocket(0)} come from that range and are soon reused by outgoing connections,
   * so a node binding one a moment later can collide.
   */
  static synchronized int freePort() {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = 20_000 + PORTS.nextInt(12_000);
      // Never the same port twice in one JVM: a cluster takes its nine ports before any node
      // binds one, so a port free at the check could be drawn again for another node (one run in
      // about thirty failed so: "Address already in use").
      if (!handedOut.add(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket(port)) {
        s.setReuseAddress(true);
        return port;
      } catch (java.io.IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free port below 32000");
  }
}
