package io.flotilla.wal;

import java.nio.file.Path;

/** Another process (or another open log in this one) holds the data directory. */
public final class WalLockedException extends WalException {
  private static final long serialVersionUID = 1L;

  public WalLockedException(Path dir) {
    super("WAL directory " + dir + " is locked by another process or log instance;"
        + " two writers on one log would corrupt it");
  }
}
