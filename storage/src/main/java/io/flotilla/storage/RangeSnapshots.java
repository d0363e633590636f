package io.flotilla.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.RangeDescriptor;
import io.flotilla.storage.proto.RangeSnapshotHeader;
import io.flotilla.storage.proto.SessionRecord;
import io.flotilla.storage.proto.SnapshotPair;
import io.flotilla.storage.proto.SnapshotSession;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * A range's snapshot format (storage_meta.proto, {@code RangeSnapshotHeader}) and its two halves:
 * writing one from a consistent view of the range, and installing one atomically. The format is
 * this class's alone: other components only hand the bytes around (docs/storage.md, "Range
 * snapshots").
 */
public final class RangeSnapshots {
  static final int FORMAT_VERSION = 1;

  private RangeSnapshots() {}

  /** What a snapshot holds, read from its header after its checksum is verified. */
  public record Header(RangeDescriptor descriptor, long appliedIndex, long appliedTerm) {}

  /**
   * The range's snapshot as one array of exactly its size: a first pass over the range's keys
   * (under one RocksDB snapshot, so both passes see the same data) adds up the encoded size, the
   * second writes into the array. The peak is the snapshot itself: building it in growing buffers
   * and copying them took four to five times that, and ran a 512 MiB heap out of memory for a
   * range of 100 MB (docs/benchmarks.md, "Many ranges per node").
   */
  static byte[] create(RocksStore store, RangeState range) {
    Snapshot view = store.db.getSnapshot();
    try (ReadOptions ro = new ReadOptions().setSnapshot(view)) {
      long id = range.id();
      RangeDescriptor d = RangeDescriptor.parseFrom(store.db.get(store.meta, ro, Keys.descKey(id)));
      long[] applied = Keys.parseApplied(store.db.get(store.meta, ro, Keys.appliedKey(id)));
      byte[] start = d.getStartKey().toByteArray();
      byte[] end = d.getEndKey().toByteArray();
      long[] pairs = new long[2]; // count, encoded bytes
      copy(store, store.data, ro, start, end, (k, v) -> {
        int size = pairSize(k, v);
        pairs[0]++;
        pairs[1] += CodedOutputStream.computeUInt32SizeNoTag(size) + size;
      });
      // Sessions and member records are few and small: encoded once, kept as they are.
      ByteArrayOutputStream sessions = new ByteArrayOutputStream();
      long sessionCount = copy(store, store.sessions, ro, Keys.sessionPrefix(id), Keys.sessionPrefixEnd(id),
          (k, v) -> SnapshotSession.newBuilder().setClientId(Keys.clientId(k)).setRecord(SessionRecord.parseFrom(v))
              .build().writeDelimitedTo(sessions));
      ByteArrayOutputStream members = new ByteArrayOutputStream();
      long memberCount = copy(store, store.meta, ro, Keys.memberPrefix(id), Keys.prefixEnd(Keys.memberPrefix(id)),
          (k, v) -> MemberInfo.parseFrom(v).writeDelimitedTo(members));
      ByteArrayOutputStream records = new ByteArrayOutputStream();
      long[] recordCount = new long[1];
      copy(store, store.meta, ro, Keys.rangePrefix(id), Keys.rangePrefixEnd(id), (k, v) -> {
        if (isRecord(id, k)) {
          recordCount[0]++;
          SnapshotPair.newBuilder().setKey(ByteString.copyFrom(k)).setValue(ByteString.copyFrom(v)).build()
              .writeDelimitedTo(records);
        }
      });
      RangeSnapshotHeader header = RangeSnapshotHeader.newBuilder().setFormatVersion(FORMAT_VERSION).setRange(d)
          .setAppliedIndex(applied[0]).setAppliedTerm(applied[1]).setPairs(pairs[0]).setSessions(sessionCount)
          .setMembers(memberCount).setRecords(recordCount[0]).build();
      long bodySize = CodedOutputStream.computeUInt32SizeNoTag(header.getSerializedSize())
          + header.getSerializedSize() + pairs[1] + sessions.size() + members.size() + records.size();
      if (bodySize + 4 > Integer.MAX_VALUE - 8) {
        throw new StorageFailure("range " + id + " holds " + bodySize + " bytes: too large for one snapshot;"
            + " split it (server --range-max-bytes)");
      }
      byte[] out = new byte[(int) bodySize + 4];
      CodedOutputStream cos = CodedOutputStream.newInstance(out, 0, (int) bodySize);
      cos.writeUInt32NoTag(header.getSerializedSize());
      header.writeTo(cos);
      long written = copy(store, store.data, ro, start, end, (k, v) -> {
        cos.writeUInt32NoTag(pairSize(k, v));
        cos.writeByteArray(1, k);
        cos.writeByteArray(2, v);
      });
      if (written != pairs[0]) {
        throw new StorageFailure("range " + id + " changed between the passes of its snapshot (" + pairs[0]
            + " then " + written + " pairs) although both read one RocksDB snapshot");
      }
      cos.writeRawBytes(sessions.toByteArray());
      cos.writeRawBytes(members.toByteArray());
      cos.writeRawBytes(records.toByteArray());
      cos.checkNoSpaceLeft();
      CRC32C crc = new CRC32C();
      crc.update(out, 0, (int) bodySize);
      ByteBuffer.wrap(out, (int) bodySize, 4).putInt((int) crc.getValue());
      return out;
    } catch (RocksDBException | IOException e) {
      throw new StorageFailure("snapshot of range " + range.id() + " failed", e);
    } finally {
      store.db.releaseSnapshot(view);
    }
  }

  /** Whether meta key {@code k} of range {@code id} is one of its "records" (not descriptor, applied, member). */
  private static boolean isRecord(long id, byte[] k) {
    return !Arrays.equals(k, Keys.descKey(id)) && !Arrays.equals(k, Keys.appliedKey(id))
        && !Keys.hasPrefix(k, Keys.memberPrefix(id));
  }

  /** The encoded size of a SnapshotPair of {@code k} and {@code v}, both fields always written. */
  private static int pairSize(byte[] k, byte[] v) {
    return CodedOutputStream.computeByteArraySize(1, k) + CodedOutputStream.computeByteArraySize(2, v);
  }

  private interface PairSink {
    void accept(byte[] key, byte[] value) throws IOException;
  }

  private static long copy(RocksStore store, ColumnFamilyHandle cf, ReadOptions ro, byte[] start, byte[] end,
      PairSink sink) throws IOException {
    long n = 0;
    try (RocksIterator it = store.db.newIterator(cf, ro)) {
      for (it.seek(start); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (end.length > 0 && Arrays.compareUnsigned(k, end) >= 0) {
          break;
        }
        sink.accept(k, it.value());
        n++;
      }
      StateReads.checkIterator(it);
    }
    return n;
  }

  /** The header of {@code snapshot}, after its checksum is verified. */
  static Header header(byte[] snapshot) {
    RangeSnapshotHeader h = parse(snapshot, null);
    return new Header(h.getRange(), h.getAppliedIndex(), h.getAppliedTerm());
  }

  /**
   * Verifies {@code snapshot} and, when {@code batch} is given, adds its writes to it. The
   * caller's batch first deletes what the range held.
   */
  private static RangeSnapshotHeader parse(byte[] snapshot, WriteBatchSink batch) {
    if (snapshot.length < 4) {
      throw new StorageFailure("range snapshot of " + snapshot.length + " bytes");
    }
    CRC32C crc = new CRC32C();
    crc.update(snapshot, 0, snapshot.length - 4);
    if ((int) crc.getValue() != ByteBuffer.wrap(snapshot, snapshot.length - 4, 4).getInt()) {
      throw new StorageFailure("range snapshot fails its checksum");
    }
    try {
      CodedInputStream in = CodedInputStream.newInstance(snapshot, 0, snapshot.length - 4);
      RangeSnapshotHeader h = RangeSnapshotHeader.parseFrom(in.readBytes());
      if (h.getFormatVersion() != FORMAT_VERSION) {
        throw new StorageFailure("range snapshot format " + h.getFormatVersion() + " (expected " + FORMAT_VERSION + ")");
      }
      if (batch == null) {
        return h;
      }
      long id = h.getRange().getRangeId();
      for (long i = 0; i < h.getPairs(); i++) {
        SnapshotPair p = SnapshotPair.parseFrom(in.readBytes());
        if (!Spans.contains(h.getRange(), p.getKey().toByteArray())) {
          throw new StorageFailure("range snapshot holds a key outside its span");
        }
        batch.data(p.getKey().toByteArray(), p.getValue().toByteArray());
      }
      for (long i = 0; i < h.getSessions(); i++) {
        SnapshotSession s = SnapshotSession.parseFrom(in.readBytes());
        batch.session(Keys.sessionKey(id, s.getClientId()), s.getRecord().toByteArray());
      }
      for (long i = 0; i < h.getMembers(); i++) {
        MemberInfo m = MemberInfo.parseFrom(in.readBytes());
        batch.meta(Keys.memberKey(id, m.getId()), m.toByteArray());
      }
      for (long i = 0; i < h.getRecords(); i++) {
        SnapshotPair p = SnapshotPair.parseFrom(in.readBytes());
        byte[] k = p.getKey().toByteArray();
        if (!Keys.hasPrefix(k, Keys.rangePrefix(id)) || !isRecord(id, k)) {
          throw new StorageFailure("range snapshot holds a record outside its range's records");
        }
        batch.meta(k, p.getValue().toByteArray());
      }
      if (!in.isAtEnd()) {
        throw new StorageFailure("range snapshot has trailing bytes");
      }
      return h;
    } catch (IOException e) {
      throw new StorageFailure("malformed range snapshot", e);
    }
  }

  private interface WriteBatchSink {
    void data(byte[] k, byte[] v);

    void session(byte[] k, byte[] v);

    void meta(byte[] k, byte[] v);
  }

  /**
   * One atomic write: every key of {@code previous}'s and the snapshot's spans, and every
   * range-local record and session of the range, deleted; the snapshot's written.
   */
  static void install(RocksStore store, WriteOptions writeOptions, RangeDescriptor previous, byte[] snapshot,
      java.util.List<RangeDescriptor> others) {
    try (WriteBatch batch = new WriteBatch()) {
      RangeSnapshotHeader h = parse(snapshot, null);
      long id = h.getRange().getRangeId();
      // What the range held before (if anything) and what it holds now, but never a key another
      // range on this node holds (one that a split made here before this range caught up).
      if (previous != null) {
        deleteSpan(batch, store, previous, others);
      }
      deleteSpan(batch, store, h.getRange(), others);
      batch.deleteRange(store.meta, Keys.rangePrefix(id), Keys.rangePrefixEnd(id));
      batch.deleteRange(store.sessions, Keys.sessionPrefix(id), Keys.sessionPrefixEnd(id));
      parse(snapshot, new WriteBatchSink() {
        @Override
        public void data(byte[] k, byte[] v) {
          put(batch, store.data, k, v);
        }

        @Override
        public void session(byte[] k, byte[] v) {
          put(batch, store.sessions, k, v);
        }

        @Override
        public void meta(byte[] k, byte[] v) {
          put(batch, store.meta, k, v);
        }
      });
      batch.put(store.meta, Keys.descKey(id), h.getRange().toByteArray());
      batch.put(store.meta, Keys.appliedKey(id), Keys.appliedValue(h.getAppliedIndex(), h.getAppliedTerm()));
      store.db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new StorageFailure("installing a snapshot failed", e);
    }
  }

  /** One atomic write: every key of {@code d}'s span no range of {@code others} holds, its records and sessions, deleted. */
  static void destroy(RocksStore store, WriteOptions writeOptions, RangeDescriptor d,
      java.util.List<RangeDescriptor> others) {
    try (WriteBatch batch = new WriteBatch()) {
      long id = d.getRangeId();
      deleteSpan(batch, store, d, others);
      batch.deleteRange(store.meta, Keys.rangePrefix(id), Keys.rangePrefixEnd(id));
      batch.deleteRange(store.sessions, Keys.sessionPrefix(id), Keys.sessionPrefixEnd(id));
      store.db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw new StorageFailure("destroying range " + d.getRangeId() + " failed", e);
    }
  }

  private static void put(WriteBatch batch, ColumnFamilyHandle cf, byte[] k, byte[] v) {
    try {
      batch.put(cf, k, v);
    } catch (RocksDBException e) {
      throw new UncheckedIOException(new IOException(e));
    }
  }

  /** Deletes the user keys of {@code d}'s span that no range of {@code others} holds. */
  private static void deleteSpan(WriteBatch batch, RocksStore store, RangeDescriptor d,
      java.util.List<RangeDescriptor> others) throws RocksDBException {
    for (byte[][] gap : Spans.subtract(d, others)) {
      byte[] end = gap[1].length == 0 ? KvStateMachine.pastEveryKey() : gap[1];
      if (Arrays.compareUnsigned(gap[0], end) < 0) {
        batch.deleteRange(store.data, gap[0], end);
      }
    }
  }
}
