package io.flotilla.wal;

import java.util.Arrays;
import java.util.Objects;

/**
 * One log entry: a Raft index, the term it was created in, and opaque payload bytes.
 *
 * <p>The payload array is owned by the entry once constructed; callers must not mutate it. The log
 * keeps recent entries in memory and hands the same instance to readers, so copying on every read
 * would cost the replication hot path an allocation per entry.
 */
public record WalEntry(long index, long term, byte[] payload) {
  public WalEntry {
    if (index <= 0) {
      throw new IllegalArgumentException("index must be positive: " + index);
    }
    if (term < 0) {
      throw new IllegalArgumentException("term must not be negative: " + term);
    }
    Objects.requireNonNull(payload, "payload");
  }

  /** Bytes this entry occupies in a record on disk, header included. */
  public int encodedSize() {
    return RecordFormat.HEADER_SIZE + payload.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof WalEntry e
        && e.index == index
        && e.term == term
        && Arrays.equals(e.payload, payload);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Long.hashCode(index) + Long.hashCode(term)) + Arrays.hashCode(payload);
  }

  @Override
  public String toString() {
    return "WalEntry[index=" + index + ", term=" + term + ", bytes=" + payload.length + "]";
  }
}
