package io.flotilla.server.node;

import io.flotilla.server.net.ClientPort;

/**
 * What a node's client port lets its clients hold (issue 14, item 4); see {@link ClientPort}.
 *
 * @param maxClientConnections  open client connections; more are refused with UNAVAILABLE
 * @param clientInputBudgetBytes bytes of incomplete request frames all client connections may
 *                              buffer together; the connection that would pass it is closed
 * @param frameTimeoutMillis    a request frame still incomplete this long after its first byte
 *                              closes its connection
 * @param idleTimeoutMillis     a client connection with no input and nothing in flight this long
 *                              is closed; 0: never
 */
public record NetLimits(int maxClientConnections, long clientInputBudgetBytes,
    long frameTimeoutMillis, long idleTimeoutMillis) {

  public static final NetLimits DEFAULT = new NetLimits(ClientPort.Limits.DEFAULT_MAX_CONNECTIONS,
      ClientPort.Limits.DEFAULT_INPUT_BUDGET_BYTES, ClientPort.Limits.DEFAULT_FRAME_TIMEOUT_MILLIS,
      ClientPort.Limits.DEFAULT_IDLE_TIMEOUT_MILLIS);

  public NetLimits {
    if (maxClientConnections < 1) {
      throw new IllegalArgumentException("max client connections must be at least 1, got "
          + maxClientConnections);
    }
    if (clientInputBudgetBytes < 1) {
      throw new IllegalArgumentException("client input budget must be positive, got "
          + clientInputBudgetBytes);
    }
    if (frameTimeoutMillis < 1) {
      throw new IllegalArgumentException("frame timeout must be positive, got " + frameTimeoutMillis);
    }
    if (idleTimeoutMillis < 0) {
      throw new IllegalArgumentException("idle timeout must be >= 0 (0: never), got "
          + idleTimeoutMillis);
    }
  }

  /** The client port's limits with these settings. */
  public ClientPort.Limits clientPort() {
    return ClientPort.Limits.DEFAULT.with(maxClientConnections, clientInputBudgetBytes,
        frameTimeoutMillis, idleTimeoutMillis);
  }
}
