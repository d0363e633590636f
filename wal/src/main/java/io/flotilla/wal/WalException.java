package io.flotilla.wal;

import java.io.IOException;

/** Base of the log's typed errors, so callers can catch them as one and still act on the kind. */
public class WalException extends IOException {
  private static final long serialVersionUID = 1L;

  public WalException(String message) {
    super(message);
  }

  public WalException(String message, Throwable cause) {
    super(message, cause);
  }
}
