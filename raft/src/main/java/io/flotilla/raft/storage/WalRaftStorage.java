package io.flotilla.raft.storage;

import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RecoveryFence;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.wal.GroupLog;
import io.flotilla.wal.RecoveryCut;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalOptions;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raft storage of one group on the write-ahead log: its entries and hard state go to the group's
 * {@link GroupLog}, written unforced by {@link #append} and {@link #setHardState} (on the driver's
 * own thread when the log's writer is idle) and made durable by {@link #sync}, which forces the
 * whole log once. Several groups' storages over one shared {@link Wal}
 * ({@link #open(Wal, long, Path)}) therefore share their forces: {@code RaftScheduler} writes
 * every replica's Ready, then the first {@code sync()} forces for all of them and the others find
 * nothing left to force. {@link #open(WalOptions)} keeps the single-group layout of earlier builds:
 * a log of its own, the hard state in its {@code hardstate} file.
 *
 * <p>An entry's type travels as the first byte of the WAL payload. Hard state is written only when
 * term, vote or recovery fence change; a change of commit index alone stays in memory, because
 * Raft never needs a persisted commit index for safety: a restarted node learns it again from the
 * leader. In a shared log the hard state is a record in the same write as the Ready's entries;
 * in a log of its own it is the {@code hardstate} file (a rename and two forces).
 *
 * <p>Snapshots: the group's latest snapshot (metadata and the state machine's bytes) lives in one
 * file ({@value #SNAPSHOT_FILE} beside a log of its own, {@code raft-snapshot-<group>} in the
 * snapshot directory of a shared one), replaced atomically (temp file, force, rename, force the
 * directory) before the log is compacted with {@link GroupLog#truncatePrefix} or reset with
 * {@link GroupLog#reset}; opening finishes a compaction that a crash interrupted. Holding the
 * bytes here suits small state machines and tests; a server whose snapshots are RocksDB
 * checkpoints keeps a handle in {@code data} instead and streams the files itself.
 *
 * <p>A {@link RecoveryCut} the WAL saved at open is the core's {@link RecoveryFence} (the same
 * bounds and term): it reaches the core in {@link #hardState()} and goes back to the WAL's hard
 * state file when the core lifts it (docs/raft.md, "Recovery after a cut").
 *
 * <p>Not thread-safe: one driver thread owns it (except {@link #recoveryFence} and
 * {@link #recoveryFenceAtOpen}, which any thread may read). Failures of the log are fatal to the
 * node and surface as {@link UncheckedIOException} from {@link #append} and {@link #sync}.
 */
public final class WalRaftStorage implements RaftStorage, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WalRaftStorage.class);
  private static final EntryType[] TYPES = EntryType.values();

  static final String SNAPSHOT_FILE = "raft-snapshot";
  private static final int SNAPSHOT_MAGIC = 0x534E4150;
  /**
   * Version 2 added the configuration after the term. Version 1 files (which had no version field:
   * the index followed the magic) are refused rather than guessed at; so is anything newer.
   */
  private static final int SNAPSHOT_MAGIC_V2 = 0x534E4132;

  private final Wal wal;
  /** Whether {@link #close} closes the log: a log of its own, not a node's shared one. */
  private final boolean ownsWal;
  private final GroupLog log;
  private final Path snapshotFile;
  private Snapshot snapshot;
  private HardState hardState;
  private HardState savedHardState;
  /** The fence this process opened with (the WAL's pending cut), for status and metrics. */
  private final RecoveryFence fenceAtOpen;
  /** The durable fence: up until the core lifts it and the change is saved. */
  private volatile RecoveryFence durableFence;

  private WalRaftStorage(Wal wal, boolean ownsWal, GroupLog log, Path snapshotFile)
      throws IOException {
    this.wal = wal;
    this.ownsWal = ownsWal;
    this.log = log;
    this.snapshotFile = snapshotFile;
    io.flotilla.wal.WalHardState hs = log.hardState();
    this.snapshot = readSnapshot(snapshotFile);
    long compactIndex = log.firstIndex() - 1;
    if (snapshot.index() > compactIndex) {
      installInWal(snapshot, true); // a crash came between the snapshot file and the compaction
    } else if (snapshot.index() < compactIndex) {
      throw new IllegalStateException("log compacted to " + compactIndex + " but the snapshot file is at "
          + snapshot.index());
    }
    RecoveryCut cut = hs.cut();
    this.fenceAtOpen = cut.isNone() ? RecoveryFence.NONE
        : new RecoveryFence(cut.fromIndex(), cut.untilIndex(), cut.term());
    this.durableFence = fenceAtOpen;
    this.hardState = new HardState(hs.term(), hs.votedFor(), Math.max(hs.commitIndex(), snapshot.index()),
        fenceAtOpen);
    this.savedHardState = hardState;
    if (fenceAtOpen.isUp()) {
      LOG.warn("{}: recovery fence up: entries from {} up to at most {} may be missing although this node may"
          + " have acknowledged them (term {} or earlier). It moves to a later term and grants no vote and"
          + " never campaigns until its log holds an entry of a later term from that term's leader",
          log, fenceAtOpen.fromIndex(), fenceAtOpen.untilIndex(), fenceAtOpen.term());
    }
  }

  /**
   * Opens (recovering) a log of its own in {@code options.dir()} and stores the group
   * {@code options.groupId()} in it; {@link #close} closes the log.
   */
  public static WalRaftStorage open(WalOptions options) throws IOException {
    return open(options, io.flotilla.wal.WalListener.NONE);
  }

  /** As {@link #open(WalOptions)}, reporting every group commit to {@code listener} (metrics). */
  public static WalRaftStorage open(WalOptions options, io.flotilla.wal.WalListener listener) throws IOException {
    Wal wal = Wal.open(options, listener);
    try {
      return new WalRaftStorage(wal, true, wal.group(options.groupId()),
          options.dir().resolve(SNAPSHOT_FILE));
    } catch (IOException | RuntimeException e) {
      wal.close();
      throw e;
    }
  }

  /**
   * The storage of group {@code groupId} in a node's shared log (opened by the caller, who closes
   * it after every storage over it), with its snapshot file {@code raft-snapshot-<groupId>} in
   * {@code snapshotDir}. {@link #sync} forces the shared log: once for every group written since.
   */
  public static WalRaftStorage open(Wal shared, long groupId, Path snapshotDir) throws IOException {
    Files.createDirectories(snapshotDir);
    return new WalRaftStorage(shared, false, shared.group(groupId),
        snapshotDir.resolve(SNAPSHOT_FILE + "-" + groupId));
  }

  /**
   * Durably forgets this group of a shared log (its replica left the node): the log's records of
   * it become garbage, and its snapshot file is deleted (then its directory forced). Nothing may
   * use this storage afterwards.
   */
  public void destroy() throws IOException {
    if (ownsWal) {
      throw new IllegalStateException("a log of its own is deleted with its directory");
    }
    wal.removeGroup(log.groupId());
    if (Files.deleteIfExists(snapshotFile)) {
      try (FileChannel d = FileChannel.open(snapshotFile.getParent(), StandardOpenOption.READ)) {
        d.force(true);
      }
    }
  }

  public Wal wal() {
    return wal;
  }

  /** This group's log in {@link #wal()}. */
  public GroupLog log() {
    return log;
  }

  /** The recovery fence this storage opened with ({@link RecoveryFence#NONE}: none); any thread. */
  public RecoveryFence recoveryFenceAtOpen() {
    return fenceAtOpen;
  }

  /** The durable recovery fence: NONE once lifted and saved; any thread. */
  public RecoveryFence recoveryFence() {
    return durableFence;
  }

  @Override
  public long firstIndex() {
    return log.firstIndex();
  }

  @Override
  public Snapshot snapshot() {
    return snapshot;
  }

  @Override
  public long lastIndex() {
    return log.lastIndex();
  }

  @Override
  public long term(long index) {
    return log.term(index);
  }

  @Override
  public List<Entry> entries(long from, long toExclusive, long maxBytes) {
    List<io.flotilla.wal.WalEntry> raw = log.entries(from, toExclusive, maxBytes);
    List<Entry> out = new ArrayList<>(raw.size());
    for (io.flotilla.wal.WalEntry e : raw) {
      out.add(decode(e));
    }
    return out;
  }

  @Override
  public HardState hardState() {
    return hardState;
  }

  @Override
  public void append(List<Entry> entries) {
    if (entries.isEmpty()) {
      return;
    }
    long first = entries.get(0).index();
    List<io.flotilla.wal.WalEntry> raw = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      raw.add(encode(e));
    }
    try {
      if (first <= log.lastIndex()) {
        // A conflicting suffix: gone durably before anything is accepted in its place.
        log.truncateSuffix(first);
      }
      // Unforced: sync() forces it, with every other group's writes of the round.
      log.write(raw, null);
    } catch (IOException e) {
      throw new UncheckedIOException("WAL append failed", e);
    }
  }

  /**
   * Writes the hard state (unforced, in the same write as the Ready's entries) when term, vote or
   * fence changed; a commit-only change stays in memory.
   */
  @Override
  public void setHardState(HardState hs) {
    HardState prev = hardState;
    hardState = hs;
    if (hs.term() == savedHardState.term() && hs.votedFor() == savedHardState.votedFor()
        && hs.fence().equals(savedHardState.fence())) {
      return;
    }
    RecoveryFence f = hs.fence();
    RecoveryCut cut = f.isUp() ? new RecoveryCut(f.fromIndex(), f.untilIndex(), f.term()) : RecoveryCut.NONE;
    try {
      log.write(List.of(), new io.flotilla.wal.WalHardState(hs.term(), hs.votedFor(), hs.commitIndex(), cut));
    } catch (IOException e) {
      hardState = prev;
      throw new UncheckedIOException(e);
    }
    savedHardState = hs;
  }

  @Override
  public void sync() {
    try {
      wal.sync();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    RecoveryFence f = savedHardState.fence();
    if (durableFence.isUp() && !f.isUp()) {
      LOG.warn("{}: recovery fence lifted: the log holds entries of term {} from its leader, so every entry"
          + " from {} on that this node acknowledged and that can commit is back; it votes again", log,
          savedHardState.term(), durableFence.fromIndex());
    }
    durableFence = f;
  }

  /**
   * Installs a snapshot from the leader: durable when it returns (stronger than the contract asks;
   * installs are rare). The snapshot file first, then the log is emptied and continues after it.
   */
  @Override
  public void applySnapshot(Snapshot s) {
    try {
      writeSnapshot(s);
      installInWal(s, false);
      if (hardState.commitIndex() < s.index()) {
        hardState = hardState.withCommitIndex(s.index());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void createSnapshot(long index, Configuration configuration, byte[] data) {
    if (index <= snapshot.index()) {
      return;
    }
    try {
      long term = log.term(index);
      writeSnapshot(new Snapshot(index, term, data, configuration));
      log.truncatePrefix(index, term);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Makes the WAL start after {@code s}: keeps a matching suffix only if {@code keepSuffix}. */
  private void installInWal(Snapshot s, boolean keepSuffix) throws IOException {
    long first = log.firstIndex();
    long last = log.lastIndex();
    boolean matches = s.index() >= first && s.index() <= last && log.term(s.index()) == s.term();
    if (keepSuffix && matches) {
      log.truncatePrefix(s.index(), s.term());
    } else {
      log.reset(s.index(), s.term());
    }
  }

  private void writeSnapshot(Snapshot s) throws IOException {
    byte[] data = s.data();
    byte[] conf = ConfEntry.encodeConfiguration(s.configuration());
    // Header, data, checksum written as they are: the data (a whole range's state) is never copied.
    ByteBuffer head = ByteBuffer.allocate(4 + 8 + 8 + 4 + conf.length + 4);
    head.putInt(SNAPSHOT_MAGIC_V2).putLong(s.index()).putLong(s.term()).putInt(conf.length).put(conf)
        .putInt(data.length);
    CRC32C crc = new CRC32C();
    crc.update(head.array(), 0, head.position());
    crc.update(data);
    head.flip();
    ByteBuffer tail = ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip();
    ByteBuffer body = ByteBuffer.wrap(data);
    Path tmp = snapshotFile.resolveSibling(snapshotFile.getFileName() + ".snap-tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (ByteBuffer b : new ByteBuffer[] {head, body, tail}) {
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
      ch.force(true);
    }
    Files.move(tmp, snapshotFile, StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(snapshotFile.getParent(), StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory for syncing; the rename is then as durable as it gets.
    }
    snapshot = s;
  }

  private static Snapshot readSnapshot(Path file) throws IOException {
    if (!Files.exists(file)) {
      return Snapshot.EMPTY;
    }
    byte[] all = Files.readAllBytes(file);
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(all))) {
      int magic = in.readInt();
      if (magic == SNAPSHOT_MAGIC) {
        // A version 1 file has no configuration: reading it as "bootstrap voters" could silently
        // resurrect a membership that changed since. Refuse; the operator re-seeds the node.
        throw new IOException("snapshot file " + file + " has format version 1 (no configuration);"
            + " this build reads version 2 only");
      }
      if (magic != SNAPSHOT_MAGIC_V2) {
        throw new IOException("not a snapshot file, or an unknown format version: " + file
            + String.format(" (magic 0x%08X)", magic));
      }
      long index = in.readLong();
      long term = in.readLong();
      int confLen = in.readInt();
      if (confLen < 0 || confLen > all.length) {
        throw new IOException("corrupt snapshot file " + file);
      }
      byte[] conf = in.readNBytes(confLen);
      int len = in.readInt();
      if (len < 0 || len > all.length) {
        throw new IOException("corrupt snapshot file " + file);
      }
      byte[] data = in.readNBytes(len);
      int stored = in.readInt();
      CRC32C crc = new CRC32C();
      crc.update(all, 0, 4 + 8 + 8 + 4 + confLen + 4 + len);
      if (data.length != len || stored != (int) crc.getValue()) {
        throw new IOException("corrupt snapshot file " + file); // written atomically: never torn
      }
      return new Snapshot(index, term, data, ConfEntry.decodeConfiguration(ByteBuffer.wrap(conf)));
    }
  }

  /** Closes the log if it is this storage's own; a shared log stays open for its other groups. */
  @Override
  public void close() throws IOException {
    if (ownsWal) {
      wal.close();
    }
  }

  static io.flotilla.wal.WalEntry encode(Entry e) {
    byte[] data = e.data();
    byte[] payload = new byte[data.length + 1];
    payload[0] = (byte) e.type().ordinal();
    System.arraycopy(data, 0, payload, 1, data.length);
    return new io.flotilla.wal.WalEntry(e.index(), e.term(), payload);
  }

  static Entry decode(io.flotilla.wal.WalEntry e) {
    byte[] p = e.payload();
    if (p.length == 0 || p[0] < 0 || p[0] >= TYPES.length) {
      throw new IllegalStateException("entry " + e.index() + " has no valid type byte");
    }
    return new Entry(e.index(), e.term(), TYPES[p[0]], Arrays.copyOfRange(p, 1, p.length));
  }
}
