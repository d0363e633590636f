package io.flotilla.storage;

/**
 * RocksDB or the filesystem failed underneath the state machine. This is not a result a client
 * can act on: the in-memory view may no longer match disk, so the state machine refuses further
 * use and the node must close and reopen it (replaying the Raft log from the persisted applied
 * index), or stop.
 */
public final class StorageFailure extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public StorageFailure(String message, Throwable cause) {
    super(message, cause);
  }

  public StorageFailure(String message) {
    super(message);
  }
}
