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
 *   16 u64 first index stored in this segment
 *   24 u64 group id (room for a shared multi-group log; 0 for now)
 *
 * record (44-byte header + payload)
 *   0  u32 magic 0xF1071AA1
 *   4  u32 CRC32C of bytes 8..(44 + length)   -- covers the rest of the header and the payload
 *   8  u32 payload length
 *   12 u8  type (1 = entry)
 *   13 u8  flags (0; reserved)
 *   14 u16 reserved (0)
 *   16 u32 batch start: segment offset of the first record written by the same write()
 *   20 u64 group id
 *   28 u64 index
 *   36 u64 term
 *   44 ... payload
 * </pre>
 *
 * <p>The magic lets recovery find record boundaries by scanning after damage; the batch start lets
 * it tell a torn final write (damage followed only by records of that same write, which was never
 * acknowledged) from damage followed by a later write (which means acknowledged data went bad).
 */
final class RecordFormat {
  static final long SEGMENT_MAGIC = 0x314C4157544F4C46L; // "FLOTWAL1" read little-endian
  static final int FORMAT_VERSION = 1;
  static final int SEGMENT_HEADER_SIZE = 32;

  static final int RECORD_MAGIC = 0xF1071AA1;
  static final int HEADER_SIZE = 44;
  static final byte TYPE_ENTRY = 1;

  static final int OFF_CRC = 4;
  static final int OFF_LENGTH = 8;
  static final int OFF_TYPE = 12;
  static final int OFF_FLAGS = 13;
  static final int OFF_BATCH_START = 16;
  static final int OFF_GROUP = 20;
  static final int OFF_INDEX = 28;
  static final int OFF_TERM = 36;

  private RecordFormat() {}

  static ByteBuffer segmentHeader(long firstIndex, long groupId) {
    ByteBuffer b = ByteBuffer.allocate(SEGMENT_HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, SEGMENT_MAGIC);
    b.putInt(8, FORMAT_VERSION);
    b.putLong(16, firstIndex);
    b.putLong(24, groupId);
    b.putInt(12, segmentHeaderCrc(b));
    return b;
  }

  static int segmentHeaderCrc(ByteBuffer header) {
    CRC32C crc = new CRC32C();
    crc.update(header.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(16).limit(32));
    return (int) crc.getValue();
  }

  /** Writes one record at the buffer's position and advances it. */
  static void encode(ByteBuffer out, WalEntry e, int batchStart, long groupId, CRC32C crc) {
    int start = out.position();
    out.putInt(RECORD_MAGIC);
    out.putInt(0); // CRC, filled below
    out.putInt(e.payload().length);
    out.put(TYPE_ENTRY);
    out.put((byte) 0);
    out.putShort((short) 0);
    out.putInt(batchStart);
    out.putLong(groupId);
    out.putLong(e.index());
    out.putLong(e.term());
    out.put(e.payload());
    int end = out.position();
    crc.reset();
    crc.update(out.duplicate().position(start + OFF_LENGTH).limit(end));
    out.putInt(start + OFF_CRC, (int) crc.getValue());
  }

  /** CRC of the record starting at {@code at}, whose full size is {@code size}. */
  static int recordCrc(ByteBuffer buf, int at, int size, CRC32C crc) {
    crc.reset();
    crc.update(buf.duplicate().position(at + OFF_LENGTH).limit(at + size));
    return (int) crc.getValue();
  }
}
