package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Raft storage on the write-ahead log: entries go to the {@link Wal} (one group-committed force per
 * {@link #sync}), term and vote to its hard-state file.
 *
 * <p>An entry's type travels as the first byte of the WAL payload. Hard state is written through
 * only when term or vote change (each save is a rename and two forces); a change of commit index
 * alone stays in memory, because Raft never needs a persisted commit index for safety: a
 * restarted node learns it again from the leader.
 *
 * <p>Not thread-safe: one driver thread owns it. Failures of the log are fatal to the node and
 * surface as {@link UncheckedIOException} from {@link #sync}.
 */
public final class WalRaftStorage implements RaftStorage, AutoCloseable {
  private static final EntryType[] TYPES = EntryType.values();

  private final Wal wal;
  private HardState hardState;
  private HardState savedHardState;
  private CompletableFuture<Long> lastAppend = CompletableFuture.completedFuture(0L);

  private WalRaftStorage(Wal wal) {
    this.wal = wal;
    io.flotilla.wal.HardState hs = wal.hardState().load();
    this.hardState = new HardState(hs.term(), hs.votedFor(), hs.commitIndex());
    this.savedHardState = hardState;
  }

  /** Opens (recovering) the log in {@code options.dir()}. */
  public static WalRaftStorage open(WalOptions options) throws IOException {
    return new WalRaftStorage(Wal.open(options));
  }

  public Wal wal() {
    return wal;
  }

  @Override
  public long firstIndex() {
    return wal.firstIndex();
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
    List<io.flotilla.wal.Entry> raw = wal.entries(from, toExclusive, maxBytes);
    List<Entry> out = new ArrayList<>(raw.size());
    for (io.flotilla.wal.Entry e : raw) {
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
        lastAppend.join();
        wal.truncateSuffix(first);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<io.flotilla.wal.Entry> raw = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      raw.add(encode(e));
    }
    lastAppend = wal.append(raw);
  }

  @Override
  public void setHardState(HardState hs) {
    hardState = hs;
  }

  @Override
  public void sync() {
    try {
      lastAppend.join();
      if (hardState.term() != savedHardState.term()
          || hardState.votedFor() != savedHardState.votedFor()) {
        wal.hardState().save(new io.flotilla.wal.HardState(hardState.term(),
            hardState.votedFor(), hardState.commitIndex()));
        savedHardState = hardState;
      }
    } catch (CompletionException e) {
      throw new UncheckedIOException("WAL append failed", e.getCause() instanceof IOException io
          ? io : new IOException(e.getCause()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compacts the log after a snapshot at {@code index}. */
  public void compact(long index, long term) throws IOException {
    wal.truncatePrefix(index, term);
  }

  @Override
  public void close() throws IOException {
    wal.close();
  }

  static io.flotilla.wal.Entry encode(Entry e) {
    byte[] data = e.data();
    byte[] payload = new byte[data.length + 1];
    payload[0] = (byte) e.type().ordinal();
    System.arraycopy(data, 0, payload, 1, data.length);
    return new io.flotilla.wal.Entry(e.index(), e.term(), payload);
  }

  static Entry decode(io.flotilla.wal.Entry e) {
    byte[] p = e.payload();
    if (p.length == 0 || p[0] < 0 || p[0] >= TYPES.length) {
      throw new IllegalStateException("entry " + e.index() + " has no valid type byte");
    }
    return new Entry(e.index(), e.term(), TYPES[p[0]], Arrays.copyOfRange(p, 1, p.length));
  }
}
