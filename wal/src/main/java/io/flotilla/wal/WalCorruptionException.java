package io.flotilla.wal;

import java.nio.file.Path;

/**
 * The log holds damage that is not a torn tail: a record that fails its checksum with later writes
 * after it, damage inside a segment that is not the last, or a gap in the indexes. The node must
 * not start on such a log; the operator may open it with {@link WalOptions#withRepair()} to cut it at
 * the damage, or rebuild the node from a snapshot of its peers.
 */
public final class WalCorruptionException extends WalException {
  private static final long serialVersionUID = 1L;
  private final transient Path file;
  private final long offset;

  public WalCorruptionException(Path file, long offset, String detail) {
    super("WAL corruption in " + file + " at offset " + offset + ": " + detail
        + " (refusing to open; reopen with repair to truncate the log here, or rebuild this node)");
    this.file = file;
    this.offset = offset;
  }

  public Path file() {
    return file;
  }

  public long offset() {
    return offset;
  }
}
