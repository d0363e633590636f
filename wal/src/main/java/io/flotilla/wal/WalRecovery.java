package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Rebuilds the in-memory state of a log from its directory, following the rules in docs/wal.md:
 * a torn final write in the last segment is cut away; anything else that is damaged is corruption
 * and fails the open (or, with repair, cuts the log there and says what was lost). Every cut that
 * may remove forced records is first saved as a {@link RecoveryCut} in the hard state, so that the
 * log's owner learns of it even after a crash that follows the cut.
 */
final class WalRecovery {
  static final String COMPACTION_FILE = "compaction";

  /** The recovered state handed to the log. */
  record State(List<Segment> segments, long compactIndex, long compactTerm, long lastIndex,
      TermRuns terms, RecoveryReport report, HardStateFile hardState) {}

  private final WalOptions options;
  private final Path dir;
  private final List<String> events = new ArrayList<>();
  private long tornBytes;
  private boolean repaired;
  private long firstLostIndex;
  private long lostBytes;
  private HardStateFile hardState;
  /** What this open cut (NONE: nothing that may have been forced). */
  private RecoveryCut cut = RecoveryCut.NONE;

  WalRecovery(WalOptions options) {
    this.options = options;
    this.dir = options.dir();
  }

  static AtomicFile compactionFile(Path dir) {
    return new AtomicFile(dir.resolve(COMPACTION_FILE));
  }

  static ByteBuffer encodeCompaction(long index, long term) {
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(index).putLong(term).flip();
    return b;
  }

  State recover() throws IOException {
    deleteLeftoverTemporaries();
    hardState = HardStateFile.open(dir);
    RecoveryCut pending = hardState.load().cut();
    if (!pending.isNone()) {
      events.add("a recovery cut from an earlier start is still unresolved: entries from "
          + pending.fromIndex() + " up to at most " + pending.untilIndex() + " (term "
          + pending.term() + ") may be missing here");
    }
    long compactIndex = 0;
    long compactTerm = 0;
    AtomicFile cf = compactionFile(dir);
    Optional<ByteBuffer> c = cf.read();
    if (c.isPresent()) {
      if (c.get().remaining() < 16) {
        throw new WalCorruptionException(cf.path(), 0, "compaction record too short");
      }
      compactIndex = c.get().getLong(0);
      compactTerm = c.get().getLong(8);
    }

    TreeMap<Long, Path> files = listSegments();
    List<Long> firsts = new ArrayList<>(files.keySet());
    boolean deleted = false;
    // A segment whose every entry is at or below the compaction point was on its way out when the
    // process stopped; finish the job before looking at it.
    while (firsts.size() > 1 && firsts.get(1) - 1 <= compactIndex) {
      Path gone = files.remove(firsts.remove(0));
      Files.delete(gone);
      events.add("deleted compacted segment " + gone.getFileName());
      deleted = true;
    }

    TermRuns terms = new TermRuns();
    SegmentScanner scanner = new SegmentScanner(options.groupId());
    List<Segment> segments = new ArrayList<>();
    for (int k = 0; k < firsts.size(); k++) {
      long first = firsts.get(k);
      Path path = files.get(first);
      boolean last = k == firsts.size() - 1;
      Segment seg = scanOne(scanner, first, path, last, terms, firsts.subList(k + 1, firsts.size()),
          files);
      if (seg == null) {
        // Torn creation of the last segment, or repair cut everything from here on.
        deleted = true;
        break;
      }
      if (!segments.isEmpty()) {
        Segment prev = segments.get(segments.size() - 1);
        if (prev.lastIndex() + 1 != seg.firstIndex) {
          seg.close();
          closeAll(segments);
          throw new WalCorruptionException(path, 0, "gap in the log: previous segment ends at "
              + prev.lastIndex() + " but this one starts at " + seg.firstIndex);
        }
      }
      segments.add(seg);
      if (repaired) {
        deleted = true;
        break;
      }
    }

    long lastIndex = segments.isEmpty() ? compactIndex
        : Math.max(compactIndex, segments.get(segments.size() - 1).lastIndex());
    if (!segments.isEmpty() && segments.get(segments.size() - 1).lastIndex() <= compactIndex) {
      // Everything left is below the compaction point (a snapshot past the end of the log).
      for (Segment s : segments) {
        s.close();
        Files.delete(s.path);
        events.add("deleted compacted segment " + s.path.getFileName());
      }
      segments.clear();
      terms.clear();
      deleted = true;
    }
    if (!segments.isEmpty() && segments.get(0).firstIndex > compactIndex + 1) {
      Segment s0 = segments.get(0);
      closeAll(segments);
      throw new WalCorruptionException(s0.path, 0, "log starts at " + s0.firstIndex
          + " but the compaction point is " + compactIndex + ": entries are missing");
    }
    terms.dropBefore(compactIndex + 1);
    if (deleted) {
      Fsync.directory(dir);
    }
    long firstIndex = compactIndex + 1;
    RecoveryReport report = new RecoveryReport(segments.size(), firstIndex, lastIndex, tornBytes,
        repaired, firstLostIndex, lostBytes, cut, events);
    return new State(segments, compactIndex, compactTerm, lastIndex, terms, report, hardState);
  }

  /**
   * Scans one segment. Returns the segment, or null when it was deleted (a torn creation, or repair
   * removed it). Throws on corruption unless repairing.
   */
  private Segment scanOne(SegmentScanner scanner, long first, Path path, boolean last,
      TermRuns terms, List<Long> later, TreeMap<Long, Path> files) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    boolean ok = false;
    try {
      ByteBuffer buf = SegmentScanner.readAll(ch);
      Segment seg = new Segment(first, path, ch, RecordFormat.SEGMENT_HEADER_SIZE, buf.limit());
      if (!scanner.headerValid(buf, first)) {
        if (last && !scanner.anyIntactRecord(buf)) {
          if (SegmentScanner.anyNonZero(buf, RecordFormat.SEGMENT_HEADER_SIZE)) {
            // The header was forced before any record went in: bytes behind a bad header may be
            // records that were forced too.
            recordCut(first, scanner.lastIndexBound(buf, RecordFormat.SEGMENT_HEADER_SIZE, first - 1),
                path, 0, buf.limit());
          }
          ch.close();
          Files.delete(path);
          events.add("deleted " + path.getFileName() + ": its creation was torn (no valid header,"
              + " no records)");
          ok = true;
          return null;
        }
        Segment kept = corrupt(seg, 0, "bad segment header", later, files, ch, buf, scanner);
        ok = kept != null;
        return kept;
      }
      SegmentScanner.Result r = scanner.scan(buf, seg, terms);
      switch (r.outcome()) {
        case CLEAN -> {
          if (!last && seg.lastIndex() + 1 != later.get(0)) {
            Segment kept = corrupt(seg, r.stopOffset(), "segment ends at index " + seg.lastIndex()
                + " but the next segment starts at " + later.get(0), later, files, ch, buf, scanner);
            ok = kept != null;
            return kept;
          }
          seg.allocated = r.fileSize();
        }
        case TORN -> {
          if (!last) {
            Segment kept = corrupt(seg, r.stopOffset(),
                r.detail() + " in a segment that is not the last", later, files, ch, buf, scanner);
            ok = kept != null;
            return kept;
          }
          long cut = r.fileSize() - r.stopOffset();
          // Damage in the final write group: a write torn by a crash before its force (nothing
          // acknowledged), or forced records damaged since (maybe acknowledged). The bytes cannot
          // tell which, so the cut is recorded before it is made.
          recordCut(seg.lastIndex() + 1,
              scanner.lastIndexBound(buf, (int) r.stopOffset(), seg.lastIndex()), path,
              r.stopOffset(), cut);
          ch.truncate(r.stopOffset());
          ch.force(true);
          seg.allocated = r.stopOffset();
          tornBytes += cut;
          events.add("cut torn tail of " + path.getFileName() + " at offset " + r.stopOffset()
              + " (" + cut + " bytes, " + r.detail() + "); last index " + seg.lastIndex());
        }
        case CORRUPT -> {
          Segment kept = corrupt(seg, r.stopOffset(), r.detail(), later, files, ch, buf, scanner);
          ok = kept != null;
          return kept;
        }
        default -> throw new AssertionError(r.outcome());
      }
      ok = true;
      return seg;
    } finally {
      if (!ok && ch.isOpen()) {
        ch.close();
      }
    }
  }

  /** Fails the open, or with repair cuts the log at the damage and deletes every later segment. */
  private Segment corrupt(Segment seg, long offset, String detail, List<Long> later,
      TreeMap<Long, Path> files, FileChannel ch, ByteBuffer buf, SegmentScanner scanner)
      throws IOException {
    if (!options.repair()) {
      throw new WalCorruptionException(seg.path, offset, detail);
    }
    repaired = true;
    long firstLost = seg.firstIndex + seg.count();
    long lost = ch.size() - offset;
    // Repair drops records that were forced, and every later segment: record the cut first.
    long until = scanner.lastIndexBound(buf,
        (int) Math.max(offset, RecordFormat.SEGMENT_HEADER_SIZE), firstLost - 1);
    for (long f : later) {
      try (FileChannel lc = FileChannel.open(files.get(f), StandardOpenOption.READ)) {
        ByteBuffer lb = SegmentScanner.readAll(lc);
        if (SegmentScanner.anyNonZero(lb, RecordFormat.SEGMENT_HEADER_SIZE)) {
          until = Math.max(until, scanner.lastIndexBound(lb, RecordFormat.SEGMENT_HEADER_SIZE, f - 1));
        }
      }
    }
    recordCut(firstLost, Math.max(until, firstLost), seg.path, offset, lost);
    for (long f : later) {
      Path p = files.get(f);
      lost += Files.size(p);
      Files.delete(p);
      events.add("repair: deleted " + p.getFileName());
    }
    firstLostIndex = firstLost;
    lostBytes = lost;
    if (offset < RecordFormat.SEGMENT_HEADER_SIZE || seg.count() == 0) {
      ch.close();
      Files.delete(seg.path);
      events.add("repair: deleted " + seg.path.getFileName() + " (" + detail + ")");
      return null;
    }
    ch.truncate(offset);
    ch.force(true);
    seg.dataEnd = offset;
    seg.end = offset;
    seg.allocated = offset;
    events.add("repair: cut " + seg.path.getFileName() + " at offset " + offset + " (" + detail
        + "); entries from " + firstLost + " on are lost, " + lost + " bytes dropped");
    return seg;
  }

  /**
   * Saves the cut in the hard state (merged with any cut still pending there) before the caller
   * destroys the bytes, and reports it.
   */
  private void recordCut(long from, long until, Path segment, long offset, long bytes)
      throws IOException {
    RecoveryCut made = new RecoveryCut(from, Math.max(from, until), hardState.load().term());
    cut = cut.merge(made);
    WalHardState hs = hardState.load();
    RecoveryCut merged = hs.cut().merge(made);
    if (!merged.equals(hs.cut())) {
      hardState.save(hs.withCut(merged));
    }
    events.add("recovery cut: entries from " + made.fromIndex() + " up to at most "
        + made.untilIndex() + " are removed from " + segment.getFileName() + " at offset " + offset
        + " (" + bytes + " bytes). They may have been forced and acknowledged (the bytes cannot"
        + " tell a torn unforced write from forced records damaged since): saved in the hard state"
        + " with term " + made.term() + " so the node can refuse to vote until it holds them again");
  }

  private TreeMap<Long, Path> listSegments() throws IOException {
    TreeMap<Long, Path> files = new TreeMap<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + Segment.SUFFIX)) {
      for (Path p : ds) {
        String name = p.getFileName().toString();
        String digits = name.substring(0, name.length() - Segment.SUFFIX.length());
        long first;
        try {
          first = Long.parseLong(digits);
        } catch (NumberFormatException e) {
          throw new WalCorruptionException(p, 0, "segment file name is not an index");
        }
        if (first <= 0 || !Segment.fileName(first).equals(name)) {
          throw new WalCorruptionException(p, 0, "segment file name is not a canonical index");
        }
        files.put(first, p);
      }
    }
    return files;
  }

  private void deleteLeftoverTemporaries() throws IOException {
    boolean any = false;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + AtomicFile.TMP_SUFFIX)) {
      for (Path p : ds) {
        Files.delete(p);
        events.add("deleted unfinished temporary file " + p.getFileName());
        any = true;
      }
    }
    if (any) {
      Fsync.directory(dir);
    }
  }

  private static void closeAll(List<Segment> segments) throws IOException {
    for (Segment s : segments) {
      s.close();
    }
  }
}
