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
 * @param attemptTimeout how long one attempt waits for its node's answer before the call moves
 *                       on: a read is retried at another node; a write under a session is
 *                       retried with the same (client id, sequence), so it still applies at most
 *                       once; a write without a session keeps waiting (a retry could apply it
 *                       twice). Bounds the stall a frozen (SIGSTOPped, GC-bound) node causes.
 * @param tls            TLS for every connection (this client's certificate, the cluster CA), or
 *                       null for plain text (docs/security.md)
 */
public record ClientOptions(
    List<Endpoint> endpoints,
    Duration requestTimeout,
    Duration connectTimeout,
    Duration backoffMin,
    Duration backoffMax,
    boolean sessions,
    int maxFrameBytes,
    Duration attemptTimeout,
    io.flotilla.client.tls.ClientTls tls) {

  /** The default per-attempt timeout: well above a healthy round trip, well below a deadline. */
  public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(2);

  /** In plain text. */
  public ClientOptions(List<Endpoint> endpoints, Duration requestTimeout, Duration connectTimeout,
      Duration backoffMin, Duration backoffMax, boolean sessions, int maxFrameBytes,
      Duration attemptTimeout) {
    this(endpoints, requestTimeout, connectTimeout, backoffMin, backoffMax, sessions,
        maxFrameBytes, attemptTimeout, null);
  }

  /** Without a per-attempt timeout argument: {@link #DEFAULT_ATTEMPT_TIMEOUT}. */
  public ClientOptions(List<Endpoint> endpoints, Duration requestTimeout, Duration connectTimeout,
      Duration backoffMin, Duration backoffMax, boolean sessions, int maxFrameBytes) {
    this(endpoints, requestTimeout, connectTimeout, backoffMin, backoffMax, sessions,
        maxFrameBytes, DEFAULT_ATTEMPT_TIMEOUT);
  }

  public ClientOptions {
    endpoints = List.copyOf(endpoints);
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("at least one endpoint is needed");
    }
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("request timeout must be positive");
    }
    if (attemptTimeout == null || attemptTimeout.isNegative() || attemptTimeout.isZero()) {
      throw new IllegalArgumentException("attempt timeout must be positive, got " + attemptTimeout);
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
        maxFrameBytes, attemptTimeout, tls);
  }

  public ClientOptions withSessions(boolean on) {
    return new ClientOptions(endpoints, requestTimeout, connectTimeout, backoffMin, backoffMax, on,
        maxFrameBytes, attemptTimeout, tls);
  }

  public ClientOptions withBackoff(Duration min, Duration max) {
    return new ClientOptions(endpoints, requestTimeout, connectTimeout, min, max, sessions,
        maxFrameBytes, attemptTimeout, tls);
  }

  public ClientOptions withAttemptTimeout(Duration d) {
    return new ClientOptions(endpoints, requestTimeout, connectTimeout, backoffMin, backoffMax,
        sessions, maxFrameBytes, d, tls);
  }

  /** The same options over TLS ({@code tls} non-null) or in plain text (null). */
  public ClientOptions withTls(io.flotilla.client.tls.ClientTls tls) {
    return new ClientOptions(endpoints, requestTimeout, connectTimeout, backoffMin, backoffMax,
        sessions, maxFrameBytes, attemptTimeout, tls);
  }
}
