package io.flotilla.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.NodeIdAllocated;
import io.flotilla.storage.proto.RangeDescriptor;
import io.flotilla.storage.proto.RangeEpoch;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.SessionRecord;
import io.flotilla.storage.proto.SplitRange;
import io.flotilla.storage.proto.SplitResult;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatchWithIndex;

/**
 * The replicated state machine of one range (docs/ranges.md): the user keys of its span
 * {@code [start, end)} in the node's one RocksDB, and its range-local state — applied index,
 * descriptor, member records, sessions — under its id. Applies that range's committed Raft entries.
 *
 * <p><b>Atomicity.</b> One {@link #apply} call is one RocksDB write batch holding the user-data
 * changes, the session changes and the new applied index; a split also writes both descriptors,
 * the right-hand range's applied state and its copy of the sessions in that batch. After any
 * crash the range equals "all entries up to its persisted {@link #appliedIndex()}".
 *
 * <p><b>Threads.</b> {@link #apply} and {@link #install} are called by the range's one driver
 * thread; reads may come from any thread and see whole batches only.
 */
public final class RangeState {

  /** A range made by a split starts its Raft log after (index, term) = (10, 5), as CockroachDB's. */
  public static final long INITIAL_INDEX = 10;
  public static final long INITIAL_TERM = 5;

  private final KvStateMachine node;
  private final long id;
  private volatile RangeDescriptor descriptor;
  private volatile long appliedIndex;
  private volatile long appliedTerm;
  private SessionTable sessions;
  /** Member records applied by the batch in progress; touched only by the applying thread. */
  private int memberRecordsInBatch;
  /** The largest member id recorded in the batch being applied (AllocateNodeId never hands it out). */
  private long largestMemberInBatch;

  /** A range as persisted (or about to be: its sessions are loaded by {@link #reloadSessions}). */
  RangeState(KvStateMachine node, RangeDescriptor descriptor, long appliedIndex, long appliedTerm) {
    this.node = node;
    this.id = descriptor.getRangeId();
    this.descriptor = descriptor;
    this.appliedIndex = appliedIndex;
    this.appliedTerm = appliedTerm;
  }

  /** Loads the session index from disk (at open, after a split's batch, after an install). */
  void reloadSessions() {
    RocksStore store = node.store();
    this.sessions = SessionTable.load(store.db, store.sessions, id, node.options().sessionExpiryEntries());
  }

  public long id() {
    return id;
  }

  public RangeDescriptor descriptor() {
    return descriptor;
  }

  /** The last log index reflected in this range (published after the batch is readable). */
  public long appliedIndex() {
    return appliedIndex;
  }

  public long appliedTerm() {
    return appliedTerm;
  }

  /** Whether {@code key} is in this range's span. */
  public boolean contains(byte[] key) {
    return Spans.contains(descriptor, key);
  }

  public int sessionCount() {
    return node.read(() -> sessions.size());
  }

  /**
   * Applies committed entries of this range in one atomic batch, one Result per entry, in order.
   * Entries at or below {@link #appliedIndex()} are skipped ({@code already_applied}); the rest must
   * continue the log without gaps and with non-decreasing terms, or this throws
   * {@link IllegalStateException} and applies nothing (a driver bug).
   */
  public List<Result> apply(List<CommittedCommand> entries) {
    return node.read(() -> {
      long applied = appliedIndex;
      long expected = applied + 1;
      long previous = 0;
      long term = appliedTerm;
      for (CommittedCommand e : entries) {
        if (e.index() <= previous) {
          throw new IllegalStateException("entry indexes not strictly increasing: " + e.index() + " after " + previous);
        }
        previous = e.index();
        if (e.index() > applied) {
          if (e.index() != expected) {
            throw new IllegalStateException("log gap: expected index " + expected + ", got " + e.index()
                + " (appliedIndex " + applied + ")");
          }
          if (e.term() < term) {
            throw new IllegalStateException("term went back from " + term + " to " + e.term() + " at index " + e.index());
          }
          term = e.term();
          expected++;
        }
      }
      if (expected == applied + 1) {
        return entries.stream().map(e -> Results.ALREADY_APPLIED).toList();
      }
      return applyBatch(entries, applied);
    });
  }

  private List<Result> applyBatch(List<CommittedCommand> entries, long applied) {
    RocksStore store = node.store();
    List<Result> results = new ArrayList<>(entries.size());
    CommittedCommand lastApplied = null;
    memberRecordsInBatch = 0;
    largestMemberInBatch = 0;
    List<RangeState> created = new ArrayList<>();
    RangeDescriptor before = descriptor;
    try (WriteBatchWithIndex batch = new WriteBatchWithIndex(true);
         ReadOptions readOptions = new ReadOptions()) {
      ColumnView data = new BatchColumn(store.db, batch, store.data, readOptions);
      ColumnView sessionView = new BatchColumn(store.db, batch, store.sessions, readOptions);
      ColumnView meta = new BatchColumn(store.db, batch, store.meta, readOptions);
      for (CommittedCommand e : entries) {
        if (e.index() <= applied) {
          results.add(Results.ALREADY_APPLIED);
          continue;
        }
        sessions.expire(e.index(), sessionView);
        results.add(applyOne(e, data, sessionView, meta, created));
        lastApplied = e;
      }
      batch.put(store.meta, Keys.appliedKey(id), Keys.appliedValue(lastApplied.index(), lastApplied.term()));
      store.db.write(node.writeOptions(), batch);
    } catch (RocksDBException | RuntimeException e) {
      // The in-memory session index (and descriptor) may be ahead of disk now: refuse further use.
      descriptor = before;
      node.fail();
      throw e instanceof StorageFailure sf ? sf : new StorageFailure("apply failed; reopen required", e);
    }
    appliedTerm = lastApplied.term();
    appliedIndex = lastApplied.index();
    created.forEach(node::adoptRange);
    if (memberRecordsInBatch > 0) {
      node.membersChanged(memberRecordsInBatch);
    }
    return results;
  }

  private Result applyOne(CommittedCommand entry, ColumnView data, ColumnView sessionView, ColumnView meta,
      List<RangeState> created) {
    if (entry.data().length == 0) {
      return Results.NOOP;
    }
    Command command;
    try {
      command = Command.parseFrom(entry.data());
    } catch (InvalidProtocolBufferException e) {
      return Results.error(Error.Code.INVALID_ARGUMENT, "malformed command");
    }
    if (command.hasMember()) {
      MemberInfo m = command.getMember();
      if (m.getId() <= 0 || m.getPeerAddress().isEmpty()) {
        return Results.error(Error.Code.INVALID_ARGUMENT, "member record needs an id and a peer address");
      }
      meta.put(Keys.memberKey(id, m.getId()), m.toByteArray());
      memberRecordsInBatch++;
      largestMemberInBatch = Math.max(largestMemberInBatch, m.getId());
      return Results.NOOP;
    }
    if (command.hasSplit()) {
      return split(command.getSplit(), sessionView, meta, created);
    }
    if (command.hasAllocateNodeId()) {
      return allocateNodeId(command.getAllocateNodeId().getAbove(), meta);
    }
    if (PlacementRecords.handles(command)) {
      return PlacementRecords.apply(id, command, meta);
    }
    byte[] outside = Spans.firstKeyOutside(command, descriptor);
    if (outside != null) {
      // Checked before the session: a retry of a write that moved to another range must go there.
      return Results.error(Error.Code.KEY_OUT_OF_RANGE, "key " + Spans.show(outside) + " is not in range " + id
          + " " + Spans.show(descriptor) + "; it moved to another range");
    }
    long clientId = command.getClientId();
    long sequence = command.getSequence();
    if (clientId == 0 || sequence == 0) {
      return node.executor().execute(command, data);
    }
    SessionRecord session = sessions.get(clientId, sessionView);
    if (session == null) {
      if (Long.compareUnsigned(sequence, 1) > 0) {
        return Results.error(Error.Code.SESSION_EXPIRED,
            "no session for client " + Long.toUnsignedString(clientId) + "; register with sequence 1");
      }
    } else {
      int c = Long.compareUnsigned(sequence, session.getLastSequence());
      if (c == 0) {
        // A retry must be the same write: a different command under an applied sequence would
        // otherwise be answered with the first one's result while silently never applied.
        ByteString remembered = session.getLastCommandDigest();
        if (!remembered.isEmpty() && !remembered.equals(sessions.digest(entry.data()))) {
          return Results.error(Error.Code.SEQUENCE_REUSED, "sequence " + Long.toUnsignedString(sequence)
              + " of client " + Long.toUnsignedString(clientId) + " was already applied for a different write;"
              + " this one was not applied");
        }
        return session.getLastResult();
      }
      if (c < 0) {
        return Results.error(Error.Code.STALE_SEQUENCE, "sequence " + Long.toUnsignedString(sequence)
            + " is older than last applied " + Long.toUnsignedString(session.getLastSequence()));
      }
    }
    Result result = node.executor().execute(command, data);
    sessions.record(clientId, sequence, entry.index(), result, sessions.digest(entry.data()), sessionView);
    return result;
  }

  /**
   * A split at {@code s.split_key}: this range keeps {@code [start, split)}, a new range gets
   * {@code [split, end)} with the same replicas, both at the next version of the epoch. The new
   * range starts at {@link #INITIAL_INDEX} with a copy of this range's sessions, so a client's
   * retry of a write applied here before the split is still recognized there. Metadata only: no
   * user key moves.
   */
  private Result split(SplitRange s, ColumnView sessionView, ColumnView meta, List<RangeState> created) {
    RangeDescriptor d = descriptor;
    byte[] key = s.getSplitKey().toByteArray();
    if (!d.getEpoch().equals(s.getExpectedEpoch())) {
      return Results.error(Error.Code.STALE_EPOCH, "split planned against epoch " + show(s.getExpectedEpoch())
          + " but range " + id + " is at " + show(d.getEpoch()));
    }
    if (key.length == 0 || !contains(key) || Arrays.equals(key, d.getStartKey().toByteArray())) {
      return Results.error(Error.Code.INVALID_ARGUMENT, "split key " + Spans.show(key) + " is not strictly inside"
          + " range " + id + " " + Spans.show(d));
    }
    long rightId = s.getRightRangeId();
    if (rightId <= 0 || rightId == id || node.range(rightId) != null || meta.get(Keys.descKey(rightId)) != null) {
      return Results.error(Error.Code.INVALID_ARGUMENT, "range id " + rightId + " is taken");
    }
    RangeEpoch next = d.getEpoch().toBuilder().setVersion(d.getEpoch().getVersion() + 1).build();
    RangeDescriptor left = d.toBuilder().setEndKey(ByteString.copyFrom(key)).setEpoch(next)
        .clearReplicas().addAllReplicas(s.getReplicasList()).build();
    RangeDescriptor right = RangeDescriptor.newBuilder().setRangeId(rightId).setStartKey(ByteString.copyFrom(key))
        .setEndKey(d.getEndKey()).addAllReplicas(s.getReplicasList()).setEpoch(next).build();
    meta.put(Keys.descKey(id), left.toByteArray());
    meta.put(Keys.descKey(rightId), right.toByteArray());
    meta.put(Keys.appliedKey(rightId), Keys.appliedValue(INITIAL_INDEX, INITIAL_TERM));
    for (long client : sessions.clients()) {
      byte[] record = sessionView.get(Keys.sessionKey(id, client));
      if (record != null) {
        sessionView.put(Keys.sessionKey(rightId, client), record);
      }
    }
    descriptor = left;
    created.add(new RangeState(node, right, INITIAL_INDEX, INITIAL_TERM));
    return Result.newBuilder().setSplit(SplitResult.newBuilder().setLeft(left).setRight(right)).build();
  }

  /**
   * A node id never handed out before: one past every id handed out, every member record's (this
   * batch's too) and {@code above}. Persisted with the entry, so a snapshot carries it and no
   * replica ever hands out the same id twice.
   */
  private Result allocateNodeId(long above, ColumnView meta) {
    byte[] last = meta.get(Keys.nodeIdsKey(id));
    long largest = Math.max(above, Math.max(largestMemberInBatch, last == null ? 0 : ByteBuffer.wrap(last).getLong()));
    SortedMap<Long, MemberInfo> records = members();
    if (!records.isEmpty()) {
      largest = Math.max(largest, records.lastKey());
    }
    long next = largest + 1;
    meta.put(Keys.nodeIdsKey(id), ByteBuffer.allocate(Long.BYTES).putLong(next).array());
    return Result.newBuilder().setNodeIdAllocated(NodeIdAllocated.newBuilder().setNodeId(next)).build();
  }

  private static String show(RangeEpoch e) {
    return "{conf " + e.getConfVersion() + ", version " + e.getVersion() + "}";
  }

  // ----------------------------------------------------------------------------------- reads

  /** The value of {@code key} (which must be in this range's span) as of the last applied batch. */
  public Optional<byte[]> get(byte[] key) {
    Objects.requireNonNull(key, "key");
    return node.read(() -> {
      try {
        RocksStore store = node.store();
        return Optional.ofNullable(store.db.get(store.data, key));
      } catch (RocksDBException e) {
        throw new StorageFailure("get failed", e);
      }
    });
  }

  /**
   * Keys that cut this range into pieces of about {@code pieceBytes} (keys plus values, in key
   * order), at most {@code max} of them, none equal to the range's first key: where a split by
   * size should cut. Empty when the range holds less than two pieces. Reads the span once.
   */
  public record Cuts(List<byte[]> keys, long liveBytes) {}

  /**
   * As {@link #splitKeys(long, int)}, also saying how many bytes of keys and values the range held
   * when read (all of them, also past the last cut's piece limit).
   */
  public Cuts cuts(long pieceBytes, int max) {
    long[] live = new long[1];
    List<byte[]> keys = splitKeys(pieceBytes, max, live);
    return new Cuts(keys, live[0]);
  }

  public List<byte[]> splitKeys(long pieceBytes, int max) {
    return splitKeys(pieceBytes, max, new long[1]);
  }

  private List<byte[]> splitKeys(long pieceBytes, int max, long[] live) {
    if (pieceBytes <= 0 || max <= 0) {
      throw new IllegalArgumentException("pieceBytes and max must be positive: " + pieceBytes + ", " + max);
    }
    RangeDescriptor d = descriptor;
    byte[] start = d.getStartKey().toByteArray();
    byte[] end = d.getEndKey().toByteArray();
    return node.read(() -> {
      List<byte[]> out = new ArrayList<>();
      RocksStore store = node.store();
      try (RocksIterator it = store.db.newIterator(store.data)) {
        long piece = 0;
        for (it.seek(start); it.isValid(); it.next()) {
          byte[] k = it.key();
          if (end.length > 0 && Arrays.compareUnsigned(k, end) >= 0) {
            break;
          }
          if (piece >= pieceBytes && !Arrays.equals(k, start) && out.size() < max) {
            out.add(k);
            piece = 0;
          }
          int bytes = k.length + it.value().length;
          piece += bytes;
          live[0] += bytes;
        }
        // A last piece much smaller than the others: drop its cut, the piece before takes it.
        if (!out.isEmpty() && piece < pieceBytes / 4) {
          out.remove(out.size() - 1);
        }
      }
      return out;
    });
  }

  /**
   * A page of the keys in {@code [startInclusive, endExclusive)} clipped to this range's span, as
   * {@link KvStateMachine#scan(byte[], byte[], int, long)}; a page that ends at the span's end has
   * no continuation key (the next range continues the scan).
   */
  public ScanResult scan(byte[] startInclusive, byte[] endExclusive, int limit, long maxBytes) {
    RangeDescriptor d = descriptor;
    byte[] start = Spans.max(startInclusive, d.getStartKey().toByteArray());
    byte[] end = Spans.minEnd(endExclusive, d.getEndKey().toByteArray());
    if (end.length > 0 && Arrays.compareUnsigned(start, end) >= 0) {
      return new ScanResult(List.of(), null);
    }
    return node.scan(start, end, limit, maxBytes);
  }

  /** RocksDB's estimate of the bytes the range's user keys take (memtables and files). */
  public long approximateBytes() {
    RangeDescriptor d = descriptor;
    byte[] end = d.getEndKey().isEmpty() ? KvStateMachine.pastEveryKey() : d.getEndKey().toByteArray();
    return node.read(() -> {
      RocksStore store = node.store();
      try (org.rocksdb.Slice start = new org.rocksdb.Slice(d.getStartKey().toByteArray());
           org.rocksdb.Slice limit = new org.rocksdb.Slice(end)) {
        long[] sizes = store.db.getApproximateSizes(store.data, List.of(new org.rocksdb.Range(start, limit)),
            org.rocksdb.SizeApproximationFlag.INCLUDE_MEMTABLES, org.rocksdb.SizeApproximationFlag.INCLUDE_FILES);
        return sizes.length == 0 ? 0L : sizes[0];
      }
    });
  }

  /** Every placement target this range's log carried (the system range's), by the range each is for. */
  public SortedMap<Long, io.flotilla.storage.proto.PlacementTarget> placementTargets() {
    return node.read(() -> {
      RocksStore store = node.store();
      try (RocksIterator it = store.db.newIterator(store.meta)) {
        return StateReads.placementTargets(it, Keys.placementPrefix(id));
      }
    });
  }

  /** The placement settings this range's log carried, or null when none. */
  public io.flotilla.storage.proto.PlacementSettings placementSettings() {
    return node.read(() -> {
      try {
        RocksStore store = node.store();
        byte[] v = store.db.get(store.meta, Keys.placementSettingsKey(id));
        return v == null ? null : io.flotilla.storage.proto.PlacementSettings.parseFrom(v);
      } catch (RocksDBException | InvalidProtocolBufferException e) {
        throw new StorageFailure("reading the placement settings failed", e);
      }
    });
  }

  /** Every member record this range's log carried, by id. */
  public SortedMap<Long, io.flotilla.storage.proto.MemberInfo> members() {
    return node.read(() -> {
      RocksStore store = node.store();
      try (RocksIterator it = store.db.newIterator(store.meta)) {
        return StateReads.members(it, Keys.memberPrefix(id));
      }
    });
  }

  /**
   * SHA-256 over the applied index and term, the descriptor, then every user pair of the span,
   * every session and member record of the range, in key order, from one consistent view. Equal
   * on replicas that applied the same log prefix.
   */
  public byte[] digest() {
    return node.read(() -> StateDigest.of(node.store(), this));
  }

  // ------------------------------------------------------------------------------ snapshots

  /**
   * The range's state as bytes ({@code RangeSnapshotHeader} and its stream, storage_meta.proto):
   * its span's user keys, sessions and member records, descriptor and applied index, from one
   * consistent view. Held in memory: a range is bounded in size (docs/ranges.md).
   */
  public byte[] snapshot() {
    return node.read(() -> RangeSnapshots.create(node.store(), this));
  }

  /** Applied index and descriptor a snapshot holds, read without installing it. */
  public static RangeSnapshots.Header headerOf(byte[] snapshot) {
    return RangeSnapshots.header(snapshot);
  }

  /**
   * Replaces this range's state with {@code snapshot} (of this range, taken elsewhere), atomically:
   * one write batch deletes the span's keys and the range-local state and writes the snapshot's.
   * Refused (nothing changes) when the snapshot is of another range, fails its checksum, or covers
   * keys another range on this node holds.
   */
  public void install(byte[] snapshot) {
    node.write(() -> {
      RangeSnapshots.Header h = RangeSnapshots.header(snapshot);
      if (h.descriptor().getRangeId() != id) {
        throw new StorageFailure("snapshot of range " + h.descriptor().getRangeId() + " offered to range " + id);
      }
      RangeState other = node.overlapping(h.descriptor(), id);
      if (other != null) {
        throw new StorageFailure("snapshot of range " + id + " " + Spans.show(h.descriptor())
            + " overlaps range " + other.id() + " " + Spans.show(other.descriptor()) + " on this node");
      }
      RangeSnapshots.install(node.store(), node.writeOptions(), descriptor, snapshot, node.descriptorsBut(id));
      descriptor = h.descriptor();
      appliedIndex = h.appliedIndex();
      appliedTerm = h.appliedTerm();
      reloadSessions();
      node.membersChanged(1);
      return null;
    });
  }
}
