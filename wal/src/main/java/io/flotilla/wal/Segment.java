package io.flotilla.wal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One segment file and the offsets of its records, of every group and type, in write order (the
 * k-th record is the segment's ordinal k, at log position {@code firstPosition + k}). Only the
 * last segment is ever written; all others are immutable until reclaimed, except that a suffix
 * truncation may shorten the segment it cuts, which then is the last again.
 */
final class Segment {
  static final String SUFFIX = ".wal";

  /** Log position of the first record: the file name, and the segment header's field 16. */
  final long firstPosition;
  final Path path;
  final FileChannel channel;
  /** offsets[k] is the file offset of record k. */
  private int[] offsets;
  private int count;
  /** Where the writer's next record goes; owned by the writer thread, ahead of what is published. */
  long dataEnd;
  /**
   * End of the last published record: what readers may read up to. Guarded by the log's state
   * lock. Kept apart from dataEnd because the writer writes records before it publishes them.
   */
  long end;
  /** Bytes the file has been extended to (zero-filled beyond dataEnd). */
  long allocated;

  Segment(long firstPosition, Path path, FileChannel channel, long dataEnd, long allocated) {
    this.firstPosition = firstPosition;
    this.path = path;
    this.channel = channel;
    this.offsets = new int[64];
    this.dataEnd = dataEnd;
    this.end = dataEnd;
    this.allocated = allocated;
  }

  static String fileName(long firstPosition) {
    return String.format("%020d%s", firstPosition, SUFFIX);
  }

  int count() {
    return count;
  }

  /** Log position just past the last record: where the next segment starts. */
  long endPosition() {
    return firstPosition + count;
  }

  /** Adds the next record; returns its ordinal. */
  int addRecord(long offset) {
    if (count == offsets.length) {
      offsets = Arrays.copyOf(offsets, count * 2);
    }
    offsets[count] = Math.toIntExact(offset);
    return count++;
  }

  long offsetOf(int ordinal) {
    if (ordinal < 0 || ordinal >= count) {
      throw new IllegalArgumentException("record " + ordinal + " not in segment " + path);
    }
    return offsets[ordinal];
  }

  /** File offset just past record {@code ordinal}. Caller holds the state lock. */
  long endOf(int ordinal) {
    return ordinal + 1 < count ? offsets[ordinal + 1] : end;
  }

  /** Forgets records from {@code ordinal} on; returns the file offset where they began. */
  long cutAt(int ordinal) {
    long off = ordinal < count ? offsetOf(ordinal) : end;
    count = Math.max(0, ordinal);
    end = off;
    return off;
  }

  void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return path.getFileName().toString();
  }
}
