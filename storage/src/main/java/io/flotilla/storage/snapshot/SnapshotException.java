package io.flotilla.storage.snapshot;

import java.io.IOException;

/** A snapshot failed verification or a chunk stream broke protocol. The typed reason says which. */
public final class SnapshotException extends IOException {

  private static final long serialVersionUID = 1L;

  public enum Reason {
    MANIFEST_MISSING,
    MANIFEST_CORRUPT,
    FILE_MISSING,
    UNEXPECTED_FILE,
    SIZE_MISMATCH,
    CHECKSUM_MISMATCH,
    /** A chunk arrived out of order, after the last one, or with an unsafe file name. */
    BAD_CHUNK,
    /** The stream ended before its last chunk. */
    INCOMPLETE,
    /** The snapshot's files disagree with its manifest's applied index. */
    APPLIED_INDEX_MISMATCH,
  }

  private final Reason reason;

  public SnapshotException(Reason reason, String message) {
    super(reason + ": " + message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
