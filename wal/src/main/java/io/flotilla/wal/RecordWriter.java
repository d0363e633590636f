package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Puts records into the segment files: encodes them into one direct buffer, writes it with as few
 * system calls as it allows, rolls to a new segment when the last one is full, publishes where each
 * record went (so that its group can read it back), and forces. Knows nothing of futures or
 * queues: {@link WalWriter} decides when to force and whom to acknowledge; truncations and the
 * reclaimer write their records through here too. Used only under the log's writeLock.
 *
 * <p>Every record written since the last force carries the offset where that write group began in
 * its segment (the batch start), which is what lets recovery tell a torn final write from damage
 * under a later one (docs/wal.md, "Recovery on open").
 */
final class RecordWriter {
  private static final int ZERO_CHUNK = 1 << 20;
  /** A write at least this large grows the file instead of using zero-filled space. */
  static final int LARGE_WRITE_BYTES = 256 << 10;

  private final Wal wal;
  private final WalOptions options;
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer zeros = ByteBuffer.allocateDirect(ZERO_CHUNK);
  private ByteBuffer buf;
  /** Offset in the last segment where the buffer's bytes go. */
  private long bufFileOffset;
  /** Segment and offset where the current write group (records since the last force) began. */
  private Segment groupSegment;
  private int groupStart;

  /** Records encoded and not yet published: parallel arrays, in write order. */
  private int pendingCount;
  private GroupState[] pendingGroups = new GroupState[256];
  private byte[] pendingTypes = new byte[256];
  private long[] pendingIndexes = new long[256];
  private long[] pendingOffsets = new long[256];
  /** Segment of the pending records (they never span two: a roll publishes first). */
  private Segment pendingSegment;

  /** Since the last force: bytes written, time in write calls, entry records, groups touched. */
  private boolean dirty;
  private long bytes;
  private long writeNanos;
  private int entries;
  private int groups;
  private long forces;

  RecordWriter(Wal wal) {
    this.wal = wal;
    this.options = wal.options;
    this.buf = ByteBuffer.allocateDirect(options.maxBatchBytes()).order(ByteOrder.LITTLE_ENDIAN);
  }

  void entry(GroupState g, WalEntry e) throws IOException {
    add(g, RecordFormat.TYPE_ENTRY, e.index(), e.term(), e.payload());
  }

  void hardState(GroupState g, WalHardState hs) throws IOException {
    add(g, RecordFormat.TYPE_HARD_STATE, hs.commitIndex(), hs.term(),
        RecordFormat.hardStatePayload(hs));
  }

  /** A record without payload: truncate, compact, reset or remove. */
  void marker(GroupState g, byte type, long index, long term) throws IOException {
    add(g, type, index, term, new byte[0]);
  }

  private void add(GroupState g, byte type, long index, long term, byte[] payload)
      throws IOException {
    int size = RecordFormat.HEADER_SIZE + payload.length;
    Segment seg = activeSegment(size);
    if (size > buf.remaining()) {
      flush();
      if (size > buf.capacity()) {
        buf = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
      }
    }
    if (groupSegment != seg) {
      groupSegment = seg;
      groupStart = (int) (bufFileOffset + buf.position());
    }
    long offset = bufFileOffset + buf.position();
    RecordFormat.encode(buf, type, g.id, index, term, payload, groupStart, crc);
    if (pendingCount == pendingTypes.length) {
      int n = pendingCount * 2;
      pendingGroups = Arrays.copyOf(pendingGroups, n);
      pendingTypes = Arrays.copyOf(pendingTypes, n);
      pendingIndexes = Arrays.copyOf(pendingIndexes, n);
      pendingOffsets = Arrays.copyOf(pendingOffsets, n);
    }
    pendingGroups[pendingCount] = g;
    pendingTypes[pendingCount] = type;
    pendingIndexes[pendingCount] = index;
    pendingOffsets[pendingCount] = offset;
    pendingCount++;
    pendingSegment = seg;
    dirty = true;
    if (type == RecordFormat.TYPE_ENTRY) {
      entries++;
    }
    if (g.forceMark != forces + 1) {
      g.forceMark = forces + 1;
      groups++;
    }
  }

  /**
   * The segment the next record goes to: the last one, unless it is full (then it is forced,
   * trimmed, and a new one started) or there is none. An empty segment takes any record.
   */
  private Segment activeSegment(int recordSize) throws IOException {
    List<Segment> segs = wal.segments;
    Segment seg = segs.isEmpty() ? null : segs.get(segs.size() - 1);
    if (seg != null) {
      if (pendingCount == 0 && buf.position() == 0) {
        bufFileOffset = seg.dataEnd;
      }
      long end = bufFileOffset + buf.position();
      boolean hasRecords = seg.count() > 0 || end > RecordFormat.SEGMENT_HEADER_SIZE;
      if (!hasRecords || end + recordSize <= options.segmentBytes()) {
        return seg;
      }
      flush();
      forceFile(seg);
      // A segment that stops being the last is trimmed to its data: no stray zeros in it.
      seg.channel.truncate(seg.dataEnd);
      seg.allocated = seg.dataEnd;
      forceFile(seg);
      wal.rolled();
    }
    Segment fresh = createSegment(seg == null ? wal.nextPositionWhenEmpty() : seg.endPosition());
    bufFileOffset = fresh.dataEnd;
    return fresh;
  }

  /** Writes the buffered records to the last segment and publishes where each one went. */
  void flush() throws IOException {
    buf.flip();
    int n = buf.remaining();
    if (n > 0) {
      Segment seg = pendingSegment;
      long t0 = System.nanoTime();
      ensureAllocated(seg, bufFileOffset + n, n);
      long pos = bufFileOffset;
      while (buf.hasRemaining()) {
        pos += seg.channel.write(buf, pos);
      }
      bufFileOffset += n;
      seg.dataEnd = bufFileOffset;
      bytes += n;
      writeNanos += System.nanoTime() - t0;
    }
    buf.clear();
    publish();
  }

  private void publish() {
    if (pendingCount == 0) {
      return;
    }
    Segment seg = pendingSegment;
    long budget = wal.cacheBudgetPerGroup();
    wal.stateLock.writeLock().lock();
    try {
      for (int k = 0; k < pendingCount; k++) {
        GroupState g = pendingGroups[k];
        int ord = seg.addRecord(pendingOffsets[k]);
        byte type = pendingTypes[k];
        if (type == RecordFormat.TYPE_ENTRY) {
          g.index.setLocation(pendingIndexes[k], seg, ord);
        } else if (type == RecordFormat.TYPE_HARD_STATE) {
          g.hardStateSegment = seg;
        } else if (type == RecordFormat.TYPE_COMPACT || type == RecordFormat.TYPE_RESET) {
          g.markerSegment = seg;
        }
        wal.tailRun.note(g, type, seg, ord);
      }
      seg.end = seg.dataEnd;
      for (int k = 0; k < pendingCount; k++) {
        pendingGroups[k].index.evict(budget);
        pendingGroups[k] = null;
      }
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    pendingCount = 0;
  }

  /** Whether anything was written since the last force. */
  boolean dirty() {
    return dirty || pendingCount > 0;
  }

  /**
   * Flushes and forces everything written since the last force; reports the write group to the
   * listener. Returns false when there was nothing to force.
   */
  boolean force() throws IOException {
    if (!dirty()) {
      return false;
    }
    flush();
    List<Segment> segs = wal.segments;
    long t0 = System.nanoTime();
    if (!segs.isEmpty()) {
      forceFile(segs.get(segs.size() - 1));
    }
    long forceNanos = System.nanoTime() - t0;
    wal.listener.onGroupCommit(entries, groups, bytes, writeNanos, forceNanos);
    dirty = false;
    bytes = 0;
    writeNanos = 0;
    entries = 0;
    groups = 0;
    forces++;
    groupSegment = null;
    return true;
  }

  /** After a failure: forget everything not yet written. */
  void discard() {
    buf.clear();
    Arrays.fill(pendingGroups, 0, pendingCount, null);
    pendingCount = 0;
    dirty = false;
    groupSegment = null;
  }

  /** The last segment changed under the writer (a truncation cut it): start a new write group. */
  void segmentsChanged() {
    groupSegment = null;
  }

  private void forceFile(Segment seg) throws IOException {
    if (options.sync()) {
      seg.channel.force(false);
    }
  }

  /**
   * Makes room for a write ending at {@code needEnd}. Small writes land in zero-filled space ahead
   * of the writer, so their force has no file-size metadata to sync (about 1.8x more small forces
   * per second on ext4). A large write skips the zero-fill: writing every byte twice would cost
   * more bandwidth than one size update per force, which a large write amortizes anyway.
   */
  private void ensureAllocated(Segment seg, long needEnd, long writeBytes) throws IOException {
    if (needEnd <= seg.allocated) {
      return;
    }
    long step = options.preallocateBytes();
    if (step == 0 || writeBytes >= LARGE_WRITE_BYTES) {
      seg.allocated = needEnd;
      return;
    }
    long target = Math.max(needEnd, Math.min(seg.allocated + step,
        Math.max(options.segmentBytes(), needEnd)));
    target = (target + 4095) & ~4095L;
    long pos = seg.allocated;
    while (pos < target) {
      zeros.clear().limit((int) Math.min(ZERO_CHUNK, target - pos));
      pos += seg.channel.write(zeros, pos);
    }
    seg.allocated = target;
  }

  private Segment createSegment(long firstPosition) throws IOException {
    Path path = options.dir().resolve(Segment.fileName(firstPosition));
    FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    Segment seg = new Segment(firstPosition, path, ch, RecordFormat.SEGMENT_HEADER_SIZE, 0);
    ensureAllocated(seg, RecordFormat.SEGMENT_HEADER_SIZE, 0);
    ByteBuffer header = RecordFormat.segmentHeader(firstPosition, options.groupId());
    long pos = 0;
    while (header.hasRemaining()) {
      pos += ch.write(header, pos);
    }
    ch.force(true);
    Fsync.directory(options.dir());
    wal.stateLock.writeLock().lock();
    try {
      wal.segments.add(seg);
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    return seg;
  }
}
