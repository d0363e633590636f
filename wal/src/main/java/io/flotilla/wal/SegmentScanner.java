package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Reads one segment file and decides where its valid records end and what lies after them.
 *
 * <p>The outcome of a scan is one of: CLEAN (records, then only zeros or end of file), TORN (records,
 * then damage followed by nothing valid, or only by records of the same write as the damage, which
 * was therefore never forced and never acknowledged), or CORRUPT (damage followed by a record of a
 * later write: something that had been forced went bad; or an intact record that cannot be where
 * it is, as the {@link Sink} judges). Whether TORN is acceptable is the caller's call: only in the
 * last segment.
 */
final class SegmentScanner {
  enum Outcome { CLEAN, TORN, CORRUPT }

  record Result(Outcome outcome, long stopOffset, String detail, long fileSize) {}

  /** Takes each intact record in order; says why one cannot be there, or null to accept it. */
  interface Sink {
    String accept(ByteBuffer buf, int at, Segment seg, int ordinal);
  }

  /**
   * Largest payload length a scan believes. Deliberately not the configured entry limit: lowering
   * that limit must not turn old, valid records into "damage".
   */
  private static final long MAX_PAYLOAD = WalOptions.MAX_SEGMENT_BYTES;

  private final long groupId;
  private final CRC32C crc = new CRC32C();

  /** {@code groupId}: the log's own group, which every segment header must name. */
  SegmentScanner(long groupId) {
    this.groupId = groupId;
  }

  /** Reads the whole file; segments are bounded (1 GiB max, 64 MiB by default). */
  static ByteBuffer readAll(FileChannel ch) throws IOException {
    long size = ch.size();
    if (size > Integer.MAX_VALUE - 8) {
      throw new IOException("segment too large: " + size);
    }
    ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    while (buf.hasRemaining()) {
      if (ch.read(buf, buf.position()) < 0) {
        break;
      }
    }
    buf.flip();
    return buf;
  }

  /** True when the buffer holds a valid segment header for {@code firstPosition}. */
  boolean headerValid(ByteBuffer buf, long firstPosition) {
    if (buf.limit() < RecordFormat.SEGMENT_HEADER_SIZE) {
      return false;
    }
    return buf.getLong(0) == RecordFormat.SEGMENT_MAGIC
        && buf.getInt(8) == RecordFormat.FORMAT_VERSION
        && buf.getInt(12) == RecordFormat.segmentHeaderCrc(buf)
        && buf.getLong(16) == firstPosition
        && buf.getLong(24) == groupId;
  }

  /**
   * Scans records after the header, handing each intact one to {@code sink} and adding it to
   * {@code segment}. Stops at the first record that is not intact and classifies what follows.
   */
  Result scan(ByteBuffer buf, Segment segment, Sink sink) {
    int pos = RecordFormat.SEGMENT_HEADER_SIZE;
    int limit = buf.limit();
    String why = null;
    while (true) {
      if (limit - pos < RecordFormat.HEADER_SIZE) {
        why = limit == pos ? null : "partial record header";
        break;
      }
      if (buf.getInt(pos) != RecordFormat.RECORD_MAGIC) {
        why = "no record magic";
        break;
      }
      int size = recordSize(buf, pos);
      if (size < 0) {
        why = "record length out of range or past end of file";
        break;
      }
      if (RecordFormat.recordCrc(buf, pos, size, crc) != buf.getInt(pos + RecordFormat.OFF_CRC)) {
        why = "checksum mismatch";
        break;
      }
      // From here the record is intact, so a wrong field is not a torn write but a bug or a foreign
      // file: corruption whatever follows.
      String wrong = sink.accept(buf, pos, segment, segment.count());
      if (wrong != null) {
        segment.dataEnd = pos;
        segment.end = pos;
        return new Result(Outcome.CORRUPT, pos, wrong, limit);
      }
      segment.addRecord(pos);
      pos += size;
    }
    segment.dataEnd = pos;
    segment.end = pos;
    if (why == null || allZero(buf, pos, limit)) {
      return new Result(Outcome.CLEAN, pos, null, limit);
    }
    // Damage at pos. Look for any intact record after it, and the write it belongs to.
    long latestBatchStart = -1;
    for (int at = pos + 1; at <= limit - RecordFormat.HEADER_SIZE; at++) {
      int size = intactSize(buf, at);
      if (size > 0) {
        long batchStart = Integer.toUnsignedLong(buf.getInt(at + RecordFormat.OFF_BATCH_START));
        latestBatchStart = Math.max(latestBatchStart, batchStart);
      }
    }
    if (latestBatchStart > pos) {
      return new Result(Outcome.CORRUPT, pos, why + ", followed by intact records of a later write",
          limit);
    }
    return new Result(Outcome.TORN, pos, why, limit);
  }

  /**
   * The highest index of {@code group} the bytes from {@code from} to the end of the buffer may
   * have held, when its records before {@code from} end at index {@code lastKept}: an upper bound
   * for the entries a cut at {@code from} removes from that group. Every record takes at least
   * {@link RecordFormat#HEADER_SIZE} bytes and starts with a non-zero magic, so the non-zero bytes
   * after the last intact record of the group that continues its log (or after {@code from}) hold
   * at most one record per header size. What this cannot see is a record that left no trace: bytes
   * that read back as zeros, or a file cut shorter (docs/wal.md).
   */
  long lastIndexBound(ByteBuffer buf, int from, long lastKept, long group) {
    int end = nonZeroEnd(buf, from);
    long bound = lastKept + ceilDiv(end - from, RecordFormat.HEADER_SIZE);
    // A later intact entry of this group pins its own index; only what follows it is uncertain.
    for (int at = end - RecordFormat.HEADER_SIZE; at >= from; at--) {
      int size = intactSize(buf, at);
      if (size < 0 || buf.getLong(at + RecordFormat.OFF_GROUP) != group
          || buf.get(at + RecordFormat.OFF_TYPE) != RecordFormat.TYPE_ENTRY) {
        continue;
      }
      long index = buf.getLong(at + RecordFormat.OFF_INDEX);
      if (index > lastKept && index <= bound) {
        return Math.min(bound, index + ceilDiv(Math.max(0, end - (at + size)), RecordFormat.HEADER_SIZE));
      }
    }
    return bound;
  }

  /**
   * The groups with a record in the bytes from {@code from} on, as far as record headers whose own
   * check holds can tell (a damaged payload does not hide its group), each with the highest term
   * of its hard-state records there (0 when none); null when some non-zero bytes there belong to no
   * such header, so that any group may have lost a record.
   */
  Map<Long, Long> groupsIn(ByteBuffer buf, int from) {
    Map<Long, Long> groups = new HashMap<>();
    int end = nonZeroEnd(buf, from);
    int pos = from;
    while (pos < end) {
      if (RecordFormat.headerIntact(buf, pos, crc)) {
        long term = buf.get(pos + RecordFormat.OFF_TYPE) == RecordFormat.TYPE_HARD_STATE
            ? buf.getLong(pos + RecordFormat.OFF_TERM) : 0;
        groups.merge(buf.getLong(pos + RecordFormat.OFF_GROUP), term, Math::max);
        long next = pos + (long) RecordFormat.HEADER_SIZE
            + Integer.toUnsignedLong(buf.getInt(pos + RecordFormat.OFF_LENGTH));
        pos = (int) Math.min(next, end);
        continue;
      }
      int next = pos + 1;
      while (next < end && !RecordFormat.headerIntact(buf, next, crc)) {
        next++;
      }
      if (!allZero(buf, pos, next)) {
        return null;
      }
      pos = next;
    }
    return groups;
  }

  /** Whether any byte from {@code from} on is not zero: whether anything there may be lost. */
  static boolean anyNonZero(ByteBuffer buf, int from) {
    return !allZero(buf, from, buf.limit());
  }

  /** True when an intact record stands anywhere in the buffer (used when the header is bad). */
  boolean anyIntactRecord(ByteBuffer buf) {
    for (int at = 0; at <= buf.limit() - RecordFormat.HEADER_SIZE; at++) {
      if (intactSize(buf, at) > 0) {
        return true;
      }
    }
    return false;
  }

  /** Size of the intact record at {@code at}, or -1 when none is there. */
  private int intactSize(ByteBuffer buf, int at) {
    if (buf.getInt(at) != RecordFormat.RECORD_MAGIC) {
      return -1;
    }
    int size = recordSize(buf, at);
    if (size < 0 || RecordFormat.recordCrc(buf, at, size, crc) != buf.getInt(at + RecordFormat.OFF_CRC)) {
      return -1;
    }
    return size;
  }

  /** Full record size, or -1 when the length field cannot be right. */
  private static int recordSize(ByteBuffer buf, int at) {
    int length = buf.getInt(at + RecordFormat.OFF_LENGTH);
    if (length < 0 || length > MAX_PAYLOAD) {
      return -1;
    }
    long size = (long) RecordFormat.HEADER_SIZE + length;
    if (at + size > buf.limit()) {
      return -1;
    }
    return (int) size;
  }

  private static int nonZeroEnd(ByteBuffer buf, int from) {
    int end = buf.limit();
    while (end > from && buf.get(end - 1) == 0) {
      end--;
    }
    return end;
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  private static boolean allZero(ByteBuffer buf, int from, int to) {
    for (int i = from; i < to; i++) {
      if (buf.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
