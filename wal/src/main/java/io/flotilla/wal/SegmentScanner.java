package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads one segment file and decides where its valid records end and what lies after them.
 *
 * <p>The outcome of a scan is one of: CLEAN (records, then only zeros or end of file), TORN (records,
 * then damage followed by nothing valid, or only by records of the same write as the damage, which
 * was therefore never forced and never acknowledged), or CORRUPT (damage followed by a record of a
 * later write: something that had been forced went bad). Whether TORN is acceptable is the caller's
 * call: only in the last segment.
 */
final class SegmentScanner {
  enum Outcome { CLEAN, TORN, CORRUPT }

  record Result(Outcome outcome, long stopOffset, String detail, long fileSize) {}

  /**
   * Largest payload length a scan believes. Deliberately not the configured entry limit: lowering
   * that limit must not turn old, valid records into "damage".
   */
  private static final long MAX_PAYLOAD = WalOptions.MAX_SEGMENT_BYTES;

  private final long groupId;
  private final CRC32C crc = new CRC32C();

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

  /** True when the buffer holds a valid segment header for {@code firstIndex}. */
  boolean headerValid(ByteBuffer buf, long firstIndex) {
    if (buf.limit() < RecordFormat.SEGMENT_HEADER_SIZE) {
      return false;
    }
    return buf.getLong(0) == RecordFormat.SEGMENT_MAGIC
        && buf.getInt(8) == RecordFormat.FORMAT_VERSION
        && buf.getInt(12) == RecordFormat.segmentHeaderCrc(buf)
        && buf.getLong(16) == firstIndex
        && buf.getLong(24) == groupId;
  }

  /**
   * Scans records after the header, adding each valid one to {@code segment}. Stops at the first
   * record that is not valid and classifies what follows.
   */
  Result scan(ByteBuffer buf, Segment segment, TermRuns terms) {
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
      long index = buf.getLong(pos + RecordFormat.OFF_INDEX);
      long expected = segment.firstIndex + segment.count();
      if (buf.get(pos + RecordFormat.OFF_TYPE) != RecordFormat.TYPE_ENTRY) {
        return new Result(Outcome.CORRUPT, pos, "unknown record type "
            + buf.get(pos + RecordFormat.OFF_TYPE), limit);
      }
      if (buf.getLong(pos + RecordFormat.OFF_GROUP) != groupId) {
        return new Result(Outcome.CORRUPT, pos, "record of group "
            + buf.getLong(pos + RecordFormat.OFF_GROUP) + " in a log of group " + groupId, limit);
      }
      if (index != expected) {
        return new Result(Outcome.CORRUPT, pos, "record index " + index + " where " + expected
            + " was expected", limit);
      }
      long term = buf.getLong(pos + RecordFormat.OFF_TERM);
      if (term < terms.lastTerm()) {
        return new Result(Outcome.CORRUPT, pos, "term " + term + " at index " + index
            + " is below the previous entry's term " + terms.lastTerm(), limit);
      }
      segment.addRecord(index, pos);
      terms.append(index, term);
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
      if (buf.getInt(at) != RecordFormat.RECORD_MAGIC) {
        continue;
      }
      int size = recordSize(buf, at);
      if (size < 0 || RecordFormat.recordCrc(buf, at, size, crc) != buf.getInt(at + RecordFormat.OFF_CRC)) {
        continue;
      }
      long batchStart = Integer.toUnsignedLong(buf.getInt(at + RecordFormat.OFF_BATCH_START));
      latestBatchStart = Math.max(latestBatchStart, batchStart);
    }
    if (latestBatchStart > pos) {
      return new Result(Outcome.CORRUPT, pos, why + ", followed by intact records of a later write",
          limit);
    }
    return new Result(Outcome.TORN, pos, why, limit);
  }

  /**
   * The highest index the bytes from {@code from} to the end of the buffer may have held, when
   * the records before {@code from} end at index {@code lastKept}: an upper bound for the entries
   * a cut at {@code from} removes. Every record takes at least {@link RecordFormat#HEADER_SIZE}
   * bytes and starts with a non-zero magic, so the non-zero bytes after the last intact record
   * that continues the log (or after {@code from}) hold at most one record per header size. What
   * this cannot see is a record that left no trace: bytes that read back as zeros, or a file cut
   * shorter (docs/wal.md).
   */
  long lastIndexBound(ByteBuffer buf, int from, long lastKept) {
    int end = buf.limit();
    while (end > from && buf.get(end - 1) == 0) {
      end--;
    }
    long bound = lastKept + ceilDiv(end - from, RecordFormat.HEADER_SIZE);
    // A later intact record of this log pins its own index; only what follows it is uncertain.
    for (int at = end - RecordFormat.HEADER_SIZE; at >= from; at--) {
      if (buf.getInt(at) != RecordFormat.RECORD_MAGIC) {
        continue;
      }
      int size = recordSize(buf, at);
      if (size < 0 || RecordFormat.recordCrc(buf, at, size, crc) != buf.getInt(at + RecordFormat.OFF_CRC)) {
        continue;
      }
      long index = buf.getLong(at + RecordFormat.OFF_INDEX);
      if (index > lastKept && index <= bound) {
        return Math.min(bound, index + ceilDiv(Math.max(0, end - (at + size)), RecordFormat.HEADER_SIZE));
      }
    }
    return bound;
  }

  /** Whether any byte from {@code from} on is not zero: whether anything there may be lost. */
  static boolean anyNonZero(ByteBuffer buf, int from) {
    return !allZero(buf, from, buf.limit());
  }

  private static long ceilDiv(long a, long b) {
    return (a + b - 1) / b;
  }

  /** True when an intact record stands anywhere in the buffer (used when the header is bad). */
  boolean anyIntactRecord(ByteBuffer buf) {
    for (int at = 0; at <= buf.limit() - RecordFormat.HEADER_SIZE; at++) {
      if (buf.getInt(at) == RecordFormat.RECORD_MAGIC) {
        int size = recordSize(buf, at);
        if (size > 0
            && RecordFormat.recordCrc(buf, at, size, crc) == buf.getInt(at + RecordFormat.OFF_CRC)) {
          return true;
        }
      }
    }
    return false;
  }

  /** Full record size, or -1 when the length field cannot be right. */
  private int recordSize(ByteBuffer buf, int at) {
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

  private static boolean allZero(ByteBuffer buf, int from, int to) {
    for (int i = from; i < to; i++) {
      if (buf.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
