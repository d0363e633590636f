package io.flotilla.server.node;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Asks a cluster for a node id it never handed out before, for a node that joins without {@code --id}. */
public final class NodeIds {
  private static final Logger LOG = LoggerFactory.getLogger(NodeIds.class);

  private NodeIds() {}

  /**
   * The id the cluster at {@code join} (any member's client address) hands out, asking again with
   * backoff while it cannot answer (starting, electing a leader), for at most {@code patience}.
   * An id asked for but never used is simply skipped: ids are never reused.
   */
  public static long allocate(Endpoint join, Duration patience) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + patience.toNanos();
    Exception last = null;
    try (FlotillaClient client = new FlotillaClient(ClientOptions.of(join.toString())
        .withRequestTimeout(Duration.ofSeconds(10)))) {
      for (int attempt = 1; System.nanoTime() < deadline; attempt++) {
        try {
          return client.allocateNodeId().get(15, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
          last = e;
          LOG.warn("asking the cluster at {} for a node id (attempt {}): {}; asking again", join, attempt,
              e.getCause() == null ? e.toString() : e.getCause().toString());
          Thread.sleep(Math.min(2000, 200L * attempt)); // backoff between attempts, not a wait for a condition
        }
      }
    }
    throw new IOException("the cluster at " + join + " handed out no node id within " + patience.toSeconds()
        + " s (last: " + last + "); is it running, and is that a member's client address?");
  }
}
