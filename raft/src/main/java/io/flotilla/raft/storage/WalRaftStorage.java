package io.flotilla.raft.storage;

import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RecoveryFence;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
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
 * Raft storage on the write-ahead log: entries go to the {@link Wal} (one force per
 * {@link #append}, durable when it returns: {@link Wal#appendDurably}, written on the driver's own
 * thread when the log's writer is idle), term and vote to its hard-state file.
 *
 * <p>An entry's type travels as the first byte of the WAL payload. Hard state is written through
 * only when term or vote change (each save is a rename and two forces); a change of commit index
 * alone stays in memory, because Raft never needs a persisted commit index for safety: a
 * restarted node learns it again from the leader.
 *
 * <p>Snapshots: the latest snapshot (metadata and the state machine's bytes) lives in one file,
 * {@value #SNAPSHOT_FILE}, next to the segments, replaced atomically (temp file, force, rename,
 * force the directory) before the log is compacted with {@link Wal#truncatePrefix}; opening
 * finishes a compaction that a crash interrupted. Holding the bytes here suits small state
 * machines and tests; a server whose snapshots are RocksDB checkpoints keeps a handle in
 * {@code data} instead and streams the files itself.
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
  private final Path dir;
  private Snapshot snapshot;
  private HardState hardState;
  private HardState savedHardState;
  /** The fence this process opened with (the WAL's pending cut), for status and metrics. */
  private final RecoveryFence fenceAtOpen;
  /** The durable fence: up until the core lifts it and the change is saved. */
  private volatile RecoveryFence durableFence;

  private WalRaftStorage(Wal wal, Path dir) throws IOException {
    this.wal = wal;
    this.dir = dir;
    io.flotilla.wal.WalHardState hs = wal.hardState().load();
    this.snapshot = readSnapshot(dir.resolve(SNAPSHOT_FILE));
    long compactIndex = wal.firstIndex() - 1;
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
          dir, fenceAtOpen.fromIndex(), fenceAtOpen.untilIndex(), fenceAtOpen.term());
    }
  }

  /** Opens (recovering) the log in {@code options.dir()}. */
  public static WalRaftStorage open(WalOptions options) throws IOException {
    return new WalRaftStorage(Wal.open(options), options.dir());
  }

  /** As {@link #open(WalOptions)}, reporting every group commit to {@code listener} (metrics). */
  public static WalRaftStorage open(WalOptions options, io.flotilla.wal.WalListener listener) throws IOException {
    return new WalRaftStorage(Wal.open(options, listener), options.dir());
  }

  public Wal wal() {
    return wal;
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
    return wal.firstIndex();
  }

  @Override
  public Snapshot snapshot() {
    return snapshot;
  }

  @Override
  public long lastIndex() {
    return wal.lastIndex();
  }

  @Override
  public long term(long index) {
    return wal.term(index);
  }

  @Override
  public List<Entry> entries(long from, long toExclusive, long maxBytes) {
    List<io.flotilla.wal.WalEntry> raw = wal.entries(from, toExclusive, maxBytes);
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
    try {
      if (first <= wal.lastIndex()) {
        // A conflicting suffix: gone durably before anything is accepted in its place.
        wal.truncateSuffix(first);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<io.flotilla.wal.WalEntry> raw = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      raw.add(encode(e));
    }
    // Durable on return: the Raft loop would wait for it in sync() anyway, and writing on this
    // thread spares the hand-off to the WAL's writer and back (two wake-ups per Ready).
    try {
      wal.appendDurably(raw);
    } catch (IOException e) {
      throw new UncheckedIOException("WAL append failed", e);
    }
  }

  @Override
  public void setHardState(HardState hs) {
    hardState = hs;
  }

  @Override
  public void sync() {
    try {
      if (hardState.term() != savedHardState.term()
          || hardState.votedFor() != savedHardState.votedFor()
          || !hardState.fence().equals(savedHardState.fence())) {
        RecoveryFence f = hardState.fence();
        RecoveryCut cut = f.isUp() ? new RecoveryCut(f.fromIndex(), f.untilIndex(), f.term()) : RecoveryCut.NONE;
        wal.hardState().save(new io.flotilla.wal.WalHardState(hardState.term(),
            hardState.votedFor(), hardState.commitIndex(), cut));
        if (savedHardState.fence().isUp() && !f.isUp()) {
          LOG.warn("{}: recovery fence lifted: the log holds entries of term {} from its leader, so every entry"
              + " from {} on that this node acknowledged and that can commit is back; it votes again", dir,
              hardState.term(), savedHardState.fence().fromIndex());
        }
        savedHardState = hardState;
        durableFence = f;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
      long term = wal.term(index);
      writeSnapshot(new Snapshot(index, term, data, configuration));
      wal.truncatePrefix(index, term);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Makes the WAL start after {@code s}: keeps a matching suffix only if {@code keepSuffix}. */
  private void installInWal(Snapshot s, boolean keepSuffix) throws IOException {
    long first = wal.firstIndex();
    long last = wal.lastIndex();
    if (last >= first) {
      boolean matches = s.index() >= first && s.index() <= last && wal.term(s.index()) == s.term();
      if (matches && !keepSuffix) {
        wal.truncateSuffix(s.index() + 1);
      } else if (!matches && s.index() <= last) {
        wal.truncateSuffix(Math.max(first, s.index()));
      }
    }
    wal.truncatePrefix(s.index(), s.term());
  }

  private void writeSnapshot(Snapshot s) throws IOException {
    byte[] data = s.data();
    byte[] conf = ConfEntry.encodeConfiguration(s.configuration());
    ByteBuffer buf = ByteBuffer.allocate(4 + 8 + 8 + 4 + conf.length + 4 + data.length + 4);
    buf.putInt(SNAPSHOT_MAGIC_V2).putLong(s.index()).putLong(s.term()).putInt(conf.length).put(conf)
        .putInt(data.length).put(data);
    CRC32C crc = new CRC32C();
    crc.update(buf.array(), 0, buf.position());
    buf.putInt((int) crc.getValue());
    buf.flip();
    Path tmp = dir.resolve(SNAPSHOT_FILE + ".snap-tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(SNAPSHOT_FILE), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
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

  @Override
  public void close() throws IOException {
    wal.close();
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
