package io.flotilla.app;

import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.server.local.LocalCluster;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** Helpers for the tests' local clusters. */
final class Clusters {
  private Clusters() {}

  /** Waits (up to 30 s) until one running node says it leads; returns its id. */
  static int awaitLeader(LocalCluster cluster) {
    AtomicInteger leader = new AtomicInteger();
    try (FlotillaClient probe = new FlotillaClient(ClientOptions.of(cluster.clientEndpoints())
        .withRequestTimeout(Duration.ofMillis(500)))) {
      await("a leader").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
        for (int i = 1; i <= cluster.nodes(); i++) {
          try {
            if (cluster.alive(i) && "LEADER".equals(probe.blocking().status(cluster.client(i)).getRole())) {
              leader.set(i);
              return true;
            }
          } catch (FlotillaException e) {
            // not up yet
          }
        }
        return false;
      });
    }
    return leader.get();
  }
}
