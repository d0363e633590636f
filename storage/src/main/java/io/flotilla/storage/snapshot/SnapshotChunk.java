package io.flotilla.storage.snapshot;

import java.util.Objects;

/**
 * A piece of one snapshot file, as Raft's InstallSnapshot carries it.
 *
 * @param fileName name relative to the snapshot directory (no separators)
 * @param offset   byte offset of {@code data} in that file; chunks of a file arrive in order
 * @param data     at most the reader's chunk size; empty only for an empty file
 * @param last     true on the final chunk of the whole snapshot (always the manifest's)
 */
public record SnapshotChunk(String fileName, long offset, byte[] data, boolean last) {

  public SnapshotChunk {
    Objects.requireNonNull(fileName, "fileName");
    Objects.requireNonNull(data, "data");
    if (offset < 0) {
      throw new IllegalArgumentException("offset < 0: " + offset);
    }
  }
}
