package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Disk faults on a stopped node's write-ahead log, by the record layout of {@link RecordFormat}
 * (docs/wal.md). A fixture of the log's test tree, published in its test-jar for the chaos tool's
 * disk fault: a torn unacknowledged write (what a crash mid-write leaves) must be recovered; a
 * damaged record that a later, separately forced write follows is corruption and must stop the
 * node; a cut through the last, forced record is a disk losing acknowledged data.
 */
public final class WalDamage {
  private static final int SEGMENT_HEADER = RecordFormat.SEGMENT_HEADER_SIZE;
  private static final int RECORD_HEADER = RecordFormat.HEADER_SIZE;

  private WalDamage() {}

  /** Where a record starts in its segment, how long it is, and the offset its batch began at. */
  public record Rec(long offset, int length, long batchStart, long index) {
    public long end() {
      return offset + RECORD_HEADER + length;
    }
  }

  /** Bytes replaced in a file, so the damage can be undone exactly. */
  public record Patch(Path file, long offset, byte[] original, long index) {}

  /** The newest segment of the log in {@code raftDir}, or null when there is none. */
  public static Path lastSegment(Path raftDir) throws IOException {
    try (Stream<Path> s = Files.list(raftDir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(Segment.SUFFIX)).sorted()
          .reduce((a, b) -> b).orElse(null);
    }
  }

  /** The intact-looking records of a segment, in order, up to the first gap or zeros. */
  public static List<Rec> records(Path segment) throws IOException {
    List<Rec> out = new ArrayList<>();
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
      long size = ch.size();
      long pos = SEGMENT_HEADER;
      ByteBuffer h = ByteBuffer.allocate(RECORD_HEADER).order(ByteOrder.LITTLE_ENDIAN);
      while (pos + RECORD_HEADER <= size) {
        h.clear();
        ch.read(h, pos);
        if (h.getInt(0) != RecordFormat.RECORD_MAGIC) {
          break;
        }
        int len = h.getInt(RecordFormat.OFF_LENGTH);
        if (len < 0 || pos + RECORD_HEADER + len > size) {
          break;
        }
        out.add(new Rec(pos, len, Integer.toUnsignedLong(h.getInt(RecordFormat.OFF_BATCH_START)),
            h.getLong(RecordFormat.OFF_INDEX)));
        pos += RECORD_HEADER + len;
      }
    }
    return out;
  }

  /**
   * What a crash in the middle of a write leaves: after the last record, the first bytes of the
   * next one (its header says index last+1 and a batch of its own), never forced and so never
   * acknowledged. Returns what was done, or null when the newest segment holds no record.
   */
  public static String tearUnacknowledgedWrite(Path raftDir, SplittableRandom random) throws IOException {
    Path seg = lastSegment(raftDir);
    List<Rec> recs = seg == null ? List.of() : records(seg);
    if (recs.isEmpty()) {
      return null;
    }
    Rec last = recs.get(recs.size() - 1);
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer rec = ByteBuffer.allocate(RECORD_HEADER + last.length())
          .order(ByteOrder.LITTLE_ENDIAN);
      ch.read(rec, last.offset());
      rec.putInt(RecordFormat.OFF_BATCH_START, (int) last.end()); // a new batch, starting right here
      rec.putLong(RecordFormat.OFF_INDEX, last.index() + 1);
      int keep = 1 + random.nextInt(rec.capacity() - 1);
      ch.write(ByteBuffer.wrap(rec.array(), 0, keep), last.end());
      ch.force(true);
      return "wrote " + keep + " of " + rec.capacity() + " bytes of a record for index "
          + (last.index() + 1) + " after the last one in " + seg.getFileName();
    }
  }

  /**
   * Cuts the newest segment inside its last record, which was written and forced (maybe
   * acknowledged, maybe applied): not what a crash leaves, but what bit rot in the final write
   * group looks like to recovery (docs/wal.md). Returns the patch that restores the cut bytes,
   * or null when the newest segment holds no record.
   */
  public static Patch cutLastRecord(Path raftDir, SplittableRandom random) throws IOException {
    Path seg = lastSegment(raftDir);
    List<Rec> recs = seg == null ? List.of() : records(seg);
    if (recs.isEmpty()) {
      return null;
    }
    Rec last = recs.get(recs.size() - 1);
    long cut = last.offset() + 1 + random.nextLong(RECORD_HEADER + last.length() - 1);
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      // The patch holds the whole record: recovery may cut the file at the record's start.
      ByteBuffer whole = ByteBuffer.allocate(RECORD_HEADER + last.length());
      ch.read(whole, last.offset());
      ch.truncate(cut);
      ch.force(true);
      return new Patch(seg, last.offset(), whole.array(), last.index());
    }
  }

  /**
   * Flips one payload byte of a record that a later batch follows (so recovery cannot mistake it
   * for a torn write). Returns the patch that undoes it, or null when no record qualifies.
   */
  public static Patch corruptMiddleRecord(Path raftDir, SplittableRandom random) throws IOException {
    Path seg = lastSegment(raftDir);
    if (seg == null) {
      return null;
    }
    List<Rec> recs = records(seg);
    List<Rec> candidates = new ArrayList<>();
    long lastBatch = recs.isEmpty() ? -1 : recs.get(recs.size() - 1).batchStart();
    for (Rec r : recs) {
      // A record of an earlier batch than the last one: a later write was forced after it.
      if (r.length() > 0 && r.batchStart() < lastBatch && r.end() <= lastBatch) {
        candidates.add(r);
      }
    }
    if (candidates.isEmpty()) {
      return null;
    }
    Rec victim = candidates.get(candidates.size() / 2 + random.nextInt((candidates.size() + 1) / 2));
    long at = victim.offset() + RECORD_HEADER + random.nextInt(victim.length());
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, at);
      byte original = b.get(0);
      ch.write(ByteBuffer.wrap(new byte[] {(byte) (original ^ 0x5A)}), at);
      ch.force(true);
      return new Patch(seg, at, new byte[] {original}, victim.index());
    }
  }

  /** Puts the original bytes back. */
  public static void undo(Patch p) throws IOException {
    try (FileChannel ch = FileChannel.open(p.file(), StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(p.original()), p.offset());
      ch.force(true);
    }
  }
}
