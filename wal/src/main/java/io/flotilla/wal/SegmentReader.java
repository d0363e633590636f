package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The read path of a group's {@code entries}: entries come from the group's cache when they are
 * there and otherwise from the segment files, read in chunks and checked against their checksums,
 * so damage is reported here rather than replicated.
 *
 * <p>Separate from {@link Wal} because it only reads: it runs entirely under the state lock its
 * caller holds (read side) and takes no lock of its own, touches no file position the writer uses
 * (positional reads only), and writes nothing. Its one effect on the log is failing it when a
 * record on disk is corrupt.
 */
final class SegmentReader {
  /** A chunk read from a segment spans at most this many bytes (other groups' records included). */
  private static final int CHUNK_BYTES = 1 << 20;

  private final Wal wal;

  SegmentReader(Wal wal) {
    this.wal = wal;
  }

  /**
   * Entries of {@code g} in [{@code from}, {@code to}) within {@code maxBytes} (see
   * {@link GroupLog#entries}). The caller holds the state lock (read) and has checked that the
   * range is in the log.
   */
  List<WalEntry> read(GroupState g, long from, long to, long maxBytes) throws IOException {
    Budget budget = new Budget(maxBytes, new ArrayList<>((int) Math.min(to - from, 1024)));
    long i = from;
    while (i < to) {
      WalEntry cached = g.index.cached(i);
      if (cached != null) {
        if (!budget.take(cached)) {
          break;
        }
        i++;
      } else {
        i = readFromSegment(g, i, to, budget);
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
   * Reads entries from {@code from} out of the segment holding it, while they are in that segment,
   * before {@code to}, not cached, and within the budget. Returns the next index to read, or -1
   * when the budget is spent. Reads in chunks of up to 1 MiB (records of other groups between
   * them included) so a catching-up follower costs few calls.
   */
  private long readFromSegment(GroupState g, long from, long to, Budget budget)
      throws IOException {
    GroupIndex ix = g.index;
    Segment seg = ix.segment(from);
    long end = Math.min(to, ix.writtenLast() + 1);
    CRC32C crc = new CRC32C();
    long i = from;
    while (i < end && ix.cached(i) == null && ix.segment(i) == seg) {
      long chunkStart = seg.offsetOf(ix.ordinal(i));
      long j = i + 1; // always at least one record, however large
      while (j < end && ix.cached(j) == null && ix.segment(j) == seg
          && seg.endOf(ix.ordinal(j)) - chunkStart <= CHUNK_BYTES) {
        j++;
      }
      long chunkEnd = seg.endOf(ix.ordinal(j - 1));
      ByteBuffer buf = ByteBuffer.allocate((int) (chunkEnd - chunkStart))
          .order(ByteOrder.LITTLE_ENDIAN);
      while (buf.hasRemaining()) {
        if (seg.channel.read(buf, chunkStart + buf.position()) < 0) {
          throw wal.corruptOnRead(seg, chunkStart + buf.position(),
              "unexpected end of file while reading index " + i + " of group " + g.id);
        }
      }
      for (long k = i; k < j; k++) {
        int ord = ix.ordinal(k);
        int at = (int) (seg.offsetOf(ord) - chunkStart);
        int size = (int) (seg.endOf(ord) - seg.offsetOf(ord));
        if (!budget.take(decode(g, seg, buf, at, size, k, crc))) {
          return -1;
        }
      }
      i = j;
    }
    return i;
  }

  private WalEntry decode(GroupState g, Segment seg, ByteBuffer buf, int at, int size, long index,
      CRC32C crc) throws WalCorruptionException {
    if (buf.getInt(at) != RecordFormat.RECORD_MAGIC
        || buf.getInt(at + RecordFormat.OFF_LENGTH) != size - RecordFormat.HEADER_SIZE
        || RecordFormat.recordCrc(buf, at, size, crc) != buf.getInt(at + RecordFormat.OFF_CRC)
        || buf.get(at + RecordFormat.OFF_TYPE) != RecordFormat.TYPE_ENTRY
        || buf.getLong(at + RecordFormat.OFF_GROUP) != g.id
        || buf.getLong(at + RecordFormat.OFF_INDEX) != index) {
      throw wal.corruptOnRead(seg, seg.offsetOf(g.index.ordinal(index)),
          "record for index " + index + " of group " + g.id + " failed its checksum on read");
    }
    byte[] payload = new byte[size - RecordFormat.HEADER_SIZE];
    buf.get(at + RecordFormat.HEADER_SIZE, payload);
    return new WalEntry(index, buf.getLong(at + RecordFormat.OFF_TERM), payload);
  }
}
