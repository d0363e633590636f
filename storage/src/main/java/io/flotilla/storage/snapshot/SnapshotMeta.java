package io.flotilla.storage.snapshot;

import java.nio.file.Path;
import java.util.List;

/**
 * A snapshot on disk.
 *
 * @param dir          the directory holding the RocksDB checkpoint and the manifest
 * @param appliedIndex last log index reflected in the snapshot (Raft's lastIncludedIndex)
 * @param appliedTerm  term of that entry (Raft's lastIncludedTerm)
 * @param files        the checkpoint's files, as listed in the manifest
 */
public record SnapshotMeta(Path dir, long appliedIndex, long appliedTerm, List<FileEntry> files) {

  /** One file of a snapshot: name relative to the snapshot directory, size and CRC32C. */
  public record FileEntry(String name, long size, int crc32c) {}

  public SnapshotMeta {
    files = List.copyOf(files);
  }

  public long totalBytes() {
    return files.stream().mapToLong(FileEntry::size).sum();
  }
}
