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
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Rebuilds the in-memory state of a log from its directory, following the rules in docs/wal.md:
 * the segments are scanned once, in order, and every record handed to the {@link Replay}, which
 * rebuilds each group; a torn final write in the last segment is cut away; anything else that is
 * damaged is corruption and fails the open (or, with repair, cuts the log there and says what was
 * lost). Every cut that may remove forced records is first saved as a {@link RecoveryCut} for each
 * group that had records in the cut bytes (every group, when the bytes cannot say whose they
 * were), so that each group's owner learns of it even after a crash that follows the cut.
 */
final class WalRecovery {
  static final String COMPACTION_FILE = "compaction";

  /** The recovered state handed to the log. */
  record State(List<Segment> segments, Map<Long, GroupState> groups, TailRun tailRun,
      HardStateFile hardState, RecoveryCuts pendingCuts, List<String> events, long tornBytes,
      boolean repaired, long firstLostIndex, long lostBytes) {}

  private final WalOptions options;
  private final Path dir;
  private final List<String> events = new ArrayList<>();
  private final SegmentScanner scanner;
  private long tornBytes;
  private boolean repaired;
  private long firstLostIndex;
  private long lostBytes;
  private HardStateFile hardState;
  private RecoveryCuts pendingCuts;
  /** The cuts this open made, by group. */
  private final Map<Long, RecoveryCut> cutsMade = new TreeMap<>();
  private GroupState own;
  /** The own group's compaction point from its file, which replay applies only at the end. */
  private long fileCompactIndex;
  private Replay replay;

  /** The own group's compaction point: (index, term), replaced atomically; absent = (0, 0). */
  static AtomicFile compactionFile(Path dir) {
    return new AtomicFile(dir.resolve(COMPACTION_FILE));
  }

  static ByteBuffer encodeCompaction(long index, long term) {
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(index).putLong(term).flip();
    return b;
  }

  WalRecovery(WalOptions options) {
    this.options = options;
    this.dir = options.dir();
    this.scanner = new SegmentScanner(options.groupId());
  }

  State recover() throws IOException {
    deleteLeftoverTemporaries();
    long compactIndex = 0;
    long compactTerm = 0;
    if (options.groupId() != WalOptions.NO_GROUP) {
      own = new GroupState(options.groupId(), true);
      hardState = HardStateFile.open(dir);
      own.hardState = hardState.load();
      reportPending(own.id, own.hardState.cut());
      AtomicFile cf = compactionFile(dir);
      Optional<ByteBuffer> c = cf.read();
      if (c.isPresent()) {
        if (c.get().remaining() < 16) {
          throw new WalCorruptionException(cf.path(), 0, "compaction record too short");
        }
        compactIndex = c.get().getLong(0);
        compactTerm = c.get().getLong(8);
      }
    }
    pendingCuts = RecoveryCuts.read(dir);
    pendingCuts.cuts().forEach(this::reportPending);
    fileCompactIndex = compactIndex;
    replay = new Replay(own);
    TreeMap<Long, Path> files = listSegments();
    List<Long> firsts = new ArrayList<>(files.keySet());
    List<Segment> segments = new ArrayList<>();
    boolean deleted = false;
    try {
      for (int k = 0; k < firsts.size(); k++) {
        Path path = files.get(firsts.get(k));
        boolean last = k == firsts.size() - 1;
        Segment seg = scanOne(firsts.get(k), path, last, firsts.subList(k + 1, firsts.size()), files);
        if (seg == null) {
          deleted = true; // a torn creation of the last segment, or repair cut everything from here
          break;
        }
        segments.add(seg);
        if (repaired) {
          deleted = true;
          break;
        }
      }
      String missing = replay.finish(compactIndex, compactTerm);
      if (missing != null) {
        throw new WalCorruptionException(segments.isEmpty() ? dir : segments.get(0).path, 0, missing);
      }
    } catch (IOException | RuntimeException e) {
      for (Segment s : segments) {
        s.close();
      }
      throw e;
    }
    // Cuts saved for groups whose hard state is in records: Wal.open writes them there. A group
    // may be known only from the bytes that were cut.
    for (long id : pendingCuts.cuts().keySet()) {
      replay.groups.computeIfAbsent(id, k -> new GroupState(k, false));
    }
    cutsMade.forEach((id, cut) -> replay.groups.get(id).cutAtOpen = cut);
    for (GroupState g : replay.groups.values()) {
      if (!g.fileBacked) {
        reportPending(g.id, g.hardState.cut());
      }
    }
    if (deleted) {
      Fsync.directory(dir);
    }
    return new State(segments, replay.groups, replay.tailRun, hardState, pendingCuts, events,
        tornBytes, repaired, firstLostIndex, lostBytes);
  }

  private void reportPending(long group, RecoveryCut pending) {
    if (!pending.isNone()) {
      events.add("a recovery cut from an earlier start is still unresolved: entries from "
          + pending.fromIndex() + " up to at most " + pending.untilIndex() + " (term "
          + pending.term() + ") of group " + group + " may be missing here");
    }
  }

  /**
   * Scans one segment. Returns the segment, or null when it was deleted (a torn creation, or repair
   * removed it). Throws on corruption unless repairing.
   */
  private Segment scanOne(long first, Path path, boolean last, List<Long> later,
      TreeMap<Long, Path> files) throws IOException {
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
            recordCuts(List.of(buf), RecordFormat.SEGMENT_HEADER_SIZE, path, 0, buf.limit());
          }
          ch.close();
          Files.delete(path);
          events.add("deleted " + path.getFileName() + ": its creation was torn (no valid header,"
              + " no records)");
          ok = true;
          return null;
        }
        Segment kept = corrupt(seg, 0, "bad segment header", later, files, ch, buf);
        ok = kept != null;
        return kept;
      }
      SegmentScanner.Result r = scanner.scan(buf, seg, replay);
      switch (r.outcome()) {
        case CLEAN -> {
          if (!last && seg.endPosition() != later.get(0)) {
            Segment kept = corrupt(seg, r.stopOffset(), "segment ends at log position "
                + seg.endPosition() + " but the next segment starts at " + later.get(0), later,
                files, ch, buf);
            ok = kept != null;
            return kept;
          }
          seg.allocated = r.fileSize();
        }
        case TORN -> {
          if (!last) {
            Segment kept = corrupt(seg, r.stopOffset(),
                r.detail() + " in a segment that is not the last", later, files, ch, buf);
            ok = kept != null;
            return kept;
          }
          long cut = r.fileSize() - r.stopOffset();
          // Damage in the final write group: a write torn by a crash before its force (nothing
          // acknowledged), or forced records damaged since (maybe acknowledged). The bytes cannot
          // tell which, so the cut is recorded before it is made.
          recordCuts(List.of(buf), (int) r.stopOffset(), path, r.stopOffset(), cut);
          ch.truncate(r.stopOffset());
          ch.force(true);
          seg.allocated = r.stopOffset();
          tornBytes += cut;
          events.add("cut torn tail of " + path.getFileName() + " at offset " + r.stopOffset()
              + " (" + cut + " bytes, " + r.detail() + ")" + ownLastIndex());
        }
        case CORRUPT -> {
          Segment kept = corrupt(seg, r.stopOffset(), r.detail(), later, files, ch, buf);
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

  private String ownLastIndex() {
    return own == null ? "" : "; last index " + own.lastIndex();
  }

  /** Fails the open, or with repair cuts the log at the damage and deletes every later segment. */
  private Segment corrupt(Segment seg, long offset, String detail, List<Long> later,
      TreeMap<Long, Path> files, FileChannel ch, ByteBuffer buf) throws IOException {
    if (!options.repair()) {
      throw new WalCorruptionException(seg.path, offset, detail);
    }
    repaired = true;
    long firstLost = own == null ? 0 : own.lastIndex() + 1;
    long lost = ch.size() - offset;
    // Repair drops records that were forced, and every later segment: record the cuts first.
    List<ByteBuffer> dropped = new ArrayList<>();
    dropped.add(buf.duplicate().position((int) Math.max(offset, RecordFormat.SEGMENT_HEADER_SIZE))
        .slice().order(buf.order()));
    for (long f : later) {
      try (FileChannel lc = FileChannel.open(files.get(f), StandardOpenOption.READ)) {
        ByteBuffer lb = SegmentScanner.readAll(lc);
        dropped.add(lb.position(Math.min(lb.limit(), RecordFormat.SEGMENT_HEADER_SIZE)).slice()
            .order(lb.order()));
      }
    }
    recordCuts(dropped, 0, seg.path, offset, lost);
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
        + ")" + (own == null ? "" : "; entries from " + firstLost + " on are lost") + ", " + lost
        + " bytes dropped");
    return seg;
  }

  /**
   * Saves a cut for every group with a record in the bytes from {@code from} on of {@code bufs}
   * (every group, when some bytes cannot be attributed), before the caller destroys them: the
   * log's own group in its hard-state file, every other group in {@link RecoveryCuts}.
   */
  private void recordCuts(List<ByteBuffer> bufs, int from, Path segment, long offset, long bytes)
      throws IOException {
    Map<Long, Long> touched = new TreeMap<>();
    boolean attributed = true;
    for (int k = 0; k < bufs.size() && attributed; k++) {
      Map<Long, Long> in = scanner.groupsIn(bufs.get(k), k == 0 ? from : 0);
      if (in == null) {
        attributed = false;
      } else {
        in.forEach((g, t) -> touched.merge(g, t, Math::max));
      }
    }
    Collection<Long> cutGroups = touched.keySet();
    if (!attributed) {
      TreeSet<Long> all = new TreeSet<>(replay.groups.keySet());
      all.addAll(touched.keySet());
      cutGroups = all;
    }
    boolean recordGroups = false;
    for (long id : cutGroups) {
      GroupState g = replay.groups.get(id);
      long lastKept = g == null ? 0 : g.fileBacked ? Math.max(g.lastIndex(), fileCompactIndex)
          : g.lastIndex();
      long until = lastKept + 1;
      for (int k = 0; k < bufs.size(); k++) {
        until = Math.max(until, scanner.lastIndexBound(bufs.get(k), k == 0 ? from : 0, lastKept, id));
      }
      long term = Math.max(g == null ? 0 : g.hardState.term(), touched.getOrDefault(id, 0L));
      RecoveryCut made = new RecoveryCut(lastKept + 1, until, term);
      cutsMade.merge(id, made, RecoveryCut::merge);
      if (g != null && g.fileBacked) {
        WalHardState hs = hardState.load();
        RecoveryCut merged = hs.cut().merge(made);
        if (!merged.equals(hs.cut())) {
          hardState.save(hs.withCut(merged));
        }
        g.hardState = hardState.load();
      } else {
        pendingCuts.add(id, made);
        recordGroups = true;
      }
      events.add("recovery cut: entries from " + made.fromIndex() + " up to at most "
          + made.untilIndex() + " of group " + id + " are removed from " + segment.getFileName()
          + " at offset " + offset + " (" + bytes + " bytes). They may have been forced and"
          + " acknowledged (the bytes cannot tell a torn unforced write from forced records"
          + " damaged since): saved in the hard state with term " + made.term() + " so the node"
          + " can refuse to vote until it holds them again");
    }
    if (recordGroups) {
      pendingCuts.save();
    }
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
          throw new WalCorruptionException(p, 0, "segment file name is not a log position");
        }
        if (first <= 0 || !Segment.fileName(first).equals(name)) {
          throw new WalCorruptionException(p, 0, "segment file name is not a canonical log position");
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
}
