package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The read path behind {@link Wal#entries}: entries come from the {@link EntryCache} when they are
 * there and otherwise from the segment files, read in chunks and checked against their checksums,
 * so damage is reported here rather than replicated.
 *
 * <p>Separate from {@link Wal} because it only reads: it runs entirely under the state lock that
 * {@code Wal.entries} holds (read side) and takes no lock of its own, touches no file position
 * the writer uses (positional reads only), and writes nothing. Its one effect on the log is
 * failing it when a record on disk is corrupt.
 */
final class SegmentReader {
  private final Wal wal;

  SegmentReader(Wal wal) {
    this.wal = wal;
  }

  /**
   * Entries in [{@code from}, {@code to}) within {@code maxBytes} (see {@link Wal#entries}). The
   * caller holds the state lock (read) and has checked that the range is in the log.
   */
  List<WalEntry> read(long from, long to, long maxBytes) throws IOException {
    Budget budget = new Budget(maxBytes, new ArrayList<>((int) Math.min(to - from, 1024)));
    long i = from;
    while (i < to) {
      WalEntry cached = wal.cache.get(i);
      if (cached != null) {
        if (!budget.take(cached)) {
          break;
        }
        i++;
      } else {
        i = readFromSegment(i, to, budget);
        if (i < 0) {
          break;
        }
      }
    }
    return budget.out;
  }

  /** Entries gathered by one read and the payload bytes they add up to. */
  private static final class Budget {
    final long maxBytes;
    final List<WalEntry> out;
    long bytes;

    Budget(long maxBytes, List<WalEntry> out) {
      this.maxBytes = maxBytes;
      this.out = out;
    }

    /** Adds the entry unless it would pass the budget; the first entry is always taken. */
    boolean take(WalEntry e) {
      if (!out.isEmpty() && maxBytes > 0 && bytes + e.payload().length > maxBytes) {
        return false;
      }
      out.add(e);
      bytes += e.payload().length;
      return true;
    }
  }

  /**
   * Reads entries from {@code from} out of the segment holding it, until the end of that segment,
   * {@code to}, the first cached entry, or the budget. Returns the next index to read, or -1 when
   * the budget is spent. Reads in chunks of up to 1 MiB so a catching-up follower costs few calls.
   */
  private long readFromSegment(long from, long to, Budget budget) throws IOException {
    Segment seg = segmentFor(from);
    long end = Math.min(to, seg.lastIndex() + 1);
    CRC32C crc = new CRC32C();
    long i = from;
    while (i < end && wal.cache.get(i) == null) {
      long chunkStart = seg.offsetOf(i);
      long j = i + 1; // always at least one record, however large
      while (j < end && wal.cache.get(j) == null && seg.endOf(j) - chunkStart <= (1 << 20)) {
        j++;
      }
      long chunkEnd = seg.endOf(j - 1);
      ByteBuffer buf = ByteBuffer.allocate((int) (chunkEnd - chunkStart))
          .order(ByteOrder.LITTLE_ENDIAN);
      while (buf.hasRemaining()) {
        if (seg.channel.read(buf, chunkStart + buf.position()) < 0) {
          throw new WalCorruptionException(seg.path, chunkStart + buf.position(),
              "unexpected end of file while reading index " + i);
        }
      }
      for (long k = i; k < j; k++) {
        int at = (int) (seg.offsetOf(k) - chunkStart);
        int size = (int) (seg.endOf(k) - seg.offsetOf(k));
        if (!budget.take(decode(seg, buf, at, size, k, crc))) {
          return -1;
        }
      }
      i = j;
    }
    return i;
  }

  private WalEntry decode(Segment seg, ByteBuffer buf, int at, int size, long index, CRC32C crc)
      throws WalCorruptionException {
    long fileOffset = seg.offsetOf(index);
    if (buf.getInt(at) != RecordFormat.RECORD_MAGIC
        || buf.getInt(at + RecordFormat.OFF_LENGTH) != size - RecordFormat.HEADER_SIZE
        || RecordFormat.recordCrc(buf, at, size, crc) != buf.getInt(at + RecordFormat.OFF_CRC)
        || buf.getLong(at + RecordFormat.OFF_INDEX) != index) {
      WalCorruptionException corrupt = new WalCorruptionException(seg.path, fileOffset,
          "record for index " + index + " failed its checksum on read");
      wal.failCorrupt(corrupt);
      throw corrupt;
    }
    byte[] payload = new byte[size - RecordFormat.HEADER_SIZE];
    buf.get(at + RecordFormat.HEADER_SIZE, payload);
    return new WalEntry(index, buf.getLong(at + RecordFormat.OFF_TERM), payload);
  }

  /** Caller holds the state lock. */
  private Segment segmentFor(long index) {
    List<Segment> segments = wal.segments;
    int lo = 0;
    int hi = segments.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (segments.get(mid).firstIndex <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    Segment s = segments.isEmpty() ? null : segments.get(lo);
    if (s == null || index < s.firstIndex || index > s.lastIndex()) {
      throw new IllegalStateException("index " + index + " is neither cached nor in a segment"
          + " (written up to " + wal.writtenIndex + ")");
    }
    return s;
  }
}
