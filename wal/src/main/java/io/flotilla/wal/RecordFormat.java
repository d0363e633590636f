package io.flotilla.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The byte layout of segment headers and records. Everything is little-endian.
 *
 * <pre>
 * segment header (32 bytes)
 *   0  u64 magic "FLOTWAL1"
 *   8  u32 format version (1)
 *   12 u32 CRC32C of bytes 16..32
 *   16 u64 log position of the first record in this segment (records before it in the log's history)
 *   24 u64 the log's own group id (WalOptions.groupId; -1 for a shared log without one)
 *
 * record (44-byte header + payload)
 *   0  u32 magic 0xF1071AA1
 *   4  u32 CRC32C of bytes 8..(44 + length)   -- covers the rest of the header and the payload
 *   8  u32 payload length
 *   12 u8  type (1 entry, 2 hard state, 3 truncate, 4 compact, 5 reset, 6 remove)
 *   13 u8  flags (0; reserved)
 *   14 u16 header check: low 16 bits of CRC32C of bytes 8..44 with these two bytes zero (0 in
 *          records of earlier builds)
 *   16 u32 batch start: segment offset of the first record written since the previous force
 *   20 u64 group id
 *   28 u64 index (entry: its index; hard state: commitIndex; truncate: first index removed;
 *          compact, reset: the compaction point)
 *   36 u64 term  (entry: its term; hard state: term; compact, reset: the compaction point's term)
 *   44 ... payload (entry: the entry's bytes; hard state: votedFor and the pending recovery cut)
 * </pre>
 *
 * <p>The magic lets recovery find record boundaries by scanning after damage; the batch start lets
 * it tell a torn final write (damage followed only by records of that same write, which was never
 * acknowledged) from damage followed by a later write (which means acknowledged data went bad).
 * The header check lets it name the group of a record whose payload is damaged, so that a cut
 * through the final write fences exactly the groups that had records there (docs/wal.md).
 */
final class RecordFormat {
  static final long SEGMENT_MAGIC = 0x314C4157544F4C46L; // "FLOTWAL1" read little-endian
  static final int FORMAT_VERSION = 1;
  static final int SEGMENT_HEADER_SIZE = 32;

  static final int RECORD_MAGIC = 0xF1071AA1;
  static final int HEADER_SIZE = 44;
  static final byte TYPE_ENTRY = 1;
  static final byte TYPE_HARD_STATE = 2;
  static final byte TYPE_TRUNCATE = 3;
  static final byte TYPE_COMPACT = 4;
  static final byte TYPE_RESET = 5;
  static final byte TYPE_REMOVE = 6;

  static final int OFF_CRC = 4;
  static final int OFF_LENGTH = 8;
  static final int OFF_TYPE = 12;
  static final int OFF_FLAGS = 13;
  static final int OFF_HEADER_CHECK = 14;
  static final int OFF_BATCH_START = 16;
  static final int OFF_GROUP = 20;
  static final int OFF_INDEX = 28;
  static final int OFF_TERM = 36;

  /** Payload of a hard-state record: votedFor, then the pending cut (from, until, term). */
  static final int HARD_STATE_PAYLOAD = 32;

  private RecordFormat() {}

  static ByteBuffer segmentHeader(long firstPosition, long groupId) {
    ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, SEGMENT_MAGIC);
    b.putInt(8, FORMAT_VERSION);
    b.putLong(16, firstPosition);
    b.putLong(24, groupId);
    b.putInt(12, segmentHeaderCrc(b));
    return b;
  }

  static int segmentHeaderCrc(ByteBuffer header) {
    CRC32C crc = new CRC32C();
    crc.update(header.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(16).limit(32));
    return (int) crc.getValue();
  }

  /** Writes one entry record at the buffer's position and advances it. */
  static void encode(ByteBuffer out, WalEntry e, int batchStart, long groupId, CRC32C crc) {
    encode(out, TYPE_ENTRY, groupId, e.index(), e.term(), e.payload(), batchStart, crc);
  }

  /** Writes one record of any type at the buffer's position and advances it. */
  static void encode(ByteBuffer out, byte type, long groupId, long index, long term,
      byte[] payload, int batchStart, CRC32C crc) {
    int start = out.position();
    out.putInt(RECORD_MAGIC);
    out.putInt(0); // CRC, filled below
    out.putInt(payload.length);
    out.put(type);
    out.put((byte) 0);
    out.putShort((short) 0); // header check, filled below
    out.putInt(batchStart);
    out.putLong(groupId);
    out.putLong(index);
    out.putLong(term);
    out.put(payload);
    int end = out.position();
    out.putShort(start + OFF_HEADER_CHECK, headerCheck(out, start, crc));
    crc.reset();
    crc.update(out.duplicate().position(start + OFF_LENGTH).limit(end));
    out.putInt(start + OFF_CRC, (int) crc.getValue());
  }

  /** The hard-state record's payload. */
  static byte[] hardStatePayload(WalHardState hs) {
    ByteBuffer b = ByteBuffer.allocate(HARD_STATE_PAYLOAD).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(hs.votedFor()).putLong(hs.cut().fromIndex()).putLong(hs.cut().untilIndex())
        .putLong(hs.cut().term());
    return b.array();
  }

  /** The hard state of the intact hard-state record at {@code at}; throws on impossible fields. */
  static WalHardState decodeHardState(ByteBuffer buf, int at) {
    if (buf.getInt(at + OFF_LENGTH) < HARD_STATE_PAYLOAD) {
      throw new IllegalArgumentException("hard-state record too short");
    }
    int p = at + HEADER_SIZE;
    RecoveryCut cut = new RecoveryCut(buf.getLong(p + 8), buf.getLong(p + 16), buf.getLong(p + 24));
    return new WalHardState(buf.getLong(at + OFF_TERM), buf.getLong(p), buf.getLong(at + OFF_INDEX),
        cut);
  }

  /** CRC of the record starting at {@code at}, whose full size is {@code size}. */
  static int recordCrc(ByteBuffer buf, int at, int size, CRC32C crc) {
    crc.reset();
    crc.update(buf.duplicate().position(at + OFF_LENGTH).limit(at + size));
    return (int) crc.getValue();
  }

  /** The header check of the 44 header bytes at {@code at} (its own two bytes taken as zero). */
  static short headerCheck(ByteBuffer buf, int at, CRC32C crc) {
    ByteBuffer b = buf.duplicate();
    crc.reset();
    crc.update(b.limit(at + OFF_HEADER_CHECK).position(at + OFF_LENGTH));
    crc.update(new byte[2]);
    b.clear();
    crc.update(b.limit(at + HEADER_SIZE).position(at + OFF_BATCH_START));
    return (short) crc.getValue();
  }

  /**
   * Whether the 44 bytes at {@code at} are a record header whose own check holds: its group,
   * index, term, type and length can be trusted even if its payload is damaged. (A header written
   * by an earlier build has no check and never passes.)
   */
  static boolean headerIntact(ByteBuffer buf, int at, CRC32C crc) {
    return at >= 0 && at + HEADER_SIZE <= buf.limit()
        && buf.getInt(at) == RECORD_MAGIC
        && buf.getShort(at + OFF_HEADER_CHECK) == headerCheck(buf, at, crc)
        && buf.getShort(at + OFF_HEADER_CHECK) != 0;
  }
}
