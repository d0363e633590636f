package io.flotilla.client;

import io.flotilla.client.wire.Frames;
import java.time.Duration;
import java.util.List;

/**
 * How a client behaves.
 *
 * @param endpoints      any members' client addresses; the leader is discovered from them
 * @param requestTimeout deadline of one call, across all its retries
 * @param connectTimeout TCP connect timeout per attempt
 * @param backoffMin     first pause before retrying UNAVAILABLE or an unreachable node
 * @param backoffMax     largest pause (exponential, with jitter)
 * @param sessions       exactly-once writes: retries after a lost response reuse the write's
 *                       (client id, sequence), so the cluster applies it at most once. Off, a
 *                       write whose response was lost fails with TIMEOUT and outcomeUnknown.
 * @param maxFrameBytes  largest response accepted
 */
public record ClientOptions(
    List<Endpoint> endpoints,
    Duration requestTimeout,
    Duration connectTimeout,
    Duration backoffMin,
    Duration backoffMax,
    boolean sessions,
    int maxFrameBytes) {

  public ClientOptions {
    endpoints = List.copyOf(endpoints);
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("at least one endpoint is needed");
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("request timeout must be positive");
    }
  }

  public static ClientOptions of(List<Endpoint> endpoints) {
    return new ClientOptions(endpoints, Duration.ofSeconds(10), Duration.ofSeconds(2),
        Duration.ofMillis(10), Duration.ofMillis(500), true, Frames.DEFAULT_MAX_FRAME_BYTES);
  }

  /** Parses a comma-separated {@code host:port,host:port} list. */
  public static ClientOptions of(String endpoints) {
    return of(java.util.Arrays.stream(endpoints.split(",")).filter(s -> !s.isBlank())
        .map(Endpoint::parse).toList());
  }

  public ClientOptions withRequestTimeout(Duration d) {
    return new ClientOptions(endpoints, d, connectTimeout, backoffMin, backoffMax, sessions,
        maxFrameBytes);
  }

  public ClientOptions withSessions(boolean on) {
    return new ClientOptions(endpoints, requestTimeout, connectTimeout, backoffMin, backoffMax, on,
        maxFrameBytes);
  }

  public ClientOptions withBackoff(Duration min, Duration max) {
    return new ClientOptions(endpoints, requestTimeout, connectTimeout, min, max, sessions,
        maxFrameBytes);
  }
}
