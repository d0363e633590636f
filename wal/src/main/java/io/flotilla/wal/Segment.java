package io.flotilla.wal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One segment file and the in-memory index of its record positions. Only the last segment is ever
 * written; all others are immutable until deleted by compaction (or, for the segment holding the
 * cut point, shortened by {@code truncateSuffix}, after which it is the last again).
 */
final class Segment {
  static final String SUFFIX = ".wal";

  final long firstIndex;
  final Path path;
  final FileChannel channel;
  /** offsets[k] is the file offset of the record for index firstIndex + k. */
  private int[] offsets;
  private int count;
  /** Where the writer's next record goes; owned by the writer thread, ahead of what is published. */
  long dataEnd;
  /**
   * End of the last published record: what readers may read up to. Guarded by the log's state
   * lock. Kept apart from dataEnd because the writer flushes a group before it publishes it.
   */
  long end;
  /** Bytes the file has been extended to (zero-filled beyond dataEnd). */
  long allocated;

  Segment(long firstIndex, Path path, FileChannel channel, long dataEnd, long allocated) {
    this.firstIndex = firstIndex;
    this.path = path;
    this.channel = channel;
    this.offsets = new int[64];
    this.dataEnd = dataEnd;
    this.end = dataEnd;
    this.allocated = allocated;
  }

  static String fileName(long firstIndex) {
    return String.format("%020d%s", firstIndex, SUFFIX);
  }

  int count() {
    return count;
  }

  /** Index of the last record, or firstIndex - 1 when empty. */
  long lastIndex() {
    return firstIndex + count - 1;
  }

  void addRecord(long index, long offset) {
    if (index != firstIndex + count) {
      throw new IllegalStateException("segment " + path + " expects index " + (firstIndex + count)
          + " but got " + index);
    }
    if (count == offsets.length) {
      offsets = Arrays.copyOf(offsets, count * 2);
    }
    offsets[count++] = Math.toIntExact(offset);
  }

  long offsetOf(long index) {
    long k = index - firstIndex;
    if (k < 0 || k >= count) {
      throw new IllegalArgumentException("index " + index + " not in segment " + path);
    }
    return offsets[(int) k];
  }

  /** Forgets records at and after {@code index}; returns the file offset where they began. */
  long cutAt(long index) {
    long off = index - firstIndex < count ? offsetOf(index) : end;
    count = (int) Math.max(0, index - firstIndex);
    end = off;
    return off;
  }

  /** File offset just past the record for {@code index}. Caller holds the state lock. */
  long endOf(long index) {
    return index < lastIndex() ? offsetOf(index + 1) : end;
  }

  void close() throws IOException {
    channel.close();
  }
}
