package io.flotilla.client;

import io.flotilla.client.proto.Error;

/**
 * A request failed. {@link #code()} says how; {@link #outcomeUnknown()} is true when a write may
 * or may not have been applied (a deadline passed after it was sent without a session to make
 * the retry safe): treat such a write as "maybe", never as "no".
 */
public final class FlotillaException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Error.Code code;
  private final boolean outcomeUnknown;

  public FlotillaException(Error.Code code, String message, boolean outcomeUnknown) {
    super(code + ": " + message);
    this.code = code;
    this.outcomeUnknown = outcomeUnknown;
  }

  public Error.Code code() {
    return code;
  }

  public boolean outcomeUnknown() {
    return outcomeUnknown;
  }

  /** Errors a client may retry as they are (possibly elsewhere, after a pause). */
  static boolean retryable(Error.Code code) {
    return switch (code) {
      case NOT_LEADER, UNAVAILABLE, NODE_UNAVAILABLE -> true;
      default -> false;
    };
  }
}
