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
  /** End of the last record; the write position of the last segment. */
  long dataEnd;
  /** Bytes the file has been extended to (zero-filled beyond dataEnd). */
  long allocated;

  Segment(long firstIndex, Path path, FileChannel channel, long dataEnd, long allocated) {
    this.firstIndex = firstIndex;
    this.path = path;
    this.channel = channel;
    this.offsets = new int[64];
    this.dataEnd = dataEnd;
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
    long off = index - firstIndex < count ? offsetOf(index) : dataEnd;
    count = (int) Math.max(0, index - firstIndex);
    return off;
  }

  void close() throws IOException {
    channel.close();
  }
}
