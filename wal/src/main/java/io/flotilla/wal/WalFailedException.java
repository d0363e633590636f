package io.flotilla.wal;

/**
 * A write or force failed earlier, so the log refuses all further appends. After a failed fsync
 * the kernel may have dropped the dirty pages, so retrying the force could report success for data
 * that is not on disk (the "fsyncgate" lesson); the only safe path is to stop and recover on reopen.
 */
public final class WalFailedException extends WalException {
  private static final long serialVersionUID = 1L;

  public WalFailedException(Throwable cause) {
    super("WAL has failed and accepts no more writes: " + cause, cause);
  }
}
