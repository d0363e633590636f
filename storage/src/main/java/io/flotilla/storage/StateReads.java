package io.flotilla.storage;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.storage.proto.MemberInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;

/**
 * The iterations behind the local reads: a page of {@link KvStateMachine#scan} and a range's
 * member table ({@link RangeState#members}).
 *
 * <p>Separate from the state machine because they only read one open {@link RocksStore}: the
 * state machine keeps its lock and its usable-check around each call, and these loops hold
 * neither locks nor state of their own.
 */
final class StateReads {
  private StateReads() {}

  /** One page of a scan; see {@link KvStateMachine#scan(byte[], byte[], int, long)}. */
  static ScanResult scan(RocksStore store, byte[] startInclusive, byte[] endExclusive, int limit,
      long maxBytes) {
    try (RocksIterator it = store.db.newIterator(store.data)) {
      List<KvPair> out = new ArrayList<>(Math.min(limit, 1024));
      long bytes = 0;
      if (startInclusive.length == 0) {
        it.seekToFirst();
      } else {
        it.seek(startInclusive);
      }
      for (; it.isValid(); it.next()) {
        byte[] key = it.key();
        if (endExclusive.length > 0 && Arrays.compareUnsigned(key, endExclusive) >= 0) {
          break;
        }
        if (out.size() == limit) {
          return new ScanResult(List.copyOf(out), key);
        }
        byte[] value = it.value();
        long size = (long) key.length + value.length + KvStateMachine.SCAN_PAIR_OVERHEAD_BYTES;
        if (!out.isEmpty() && bytes + size > maxBytes) {
          return new ScanResult(List.copyOf(out), key);
        }
        bytes += size;
        out.add(new KvPair(key, value));
      }
      checkIterator(it);
      return new ScanResult(List.copyOf(out), null);
    }
  }

  /** Every member record under {@code prefix} (a range's), by id, read through {@code it} over meta. */
  static SortedMap<Long, MemberInfo> members(RocksIterator it, byte[] prefix) {
    SortedMap<Long, MemberInfo> out = new TreeMap<>();
    for (it.seek(prefix); it.isValid() && Keys.hasPrefix(it.key(), prefix); it.next()) {
      if (it.key().length != prefix.length + Long.BYTES) {
        throw new StorageFailure("member key of length " + it.key().length);
      }
      try {
        MemberInfo m = MemberInfo.parseFrom(it.value());
        out.put(m.getId(), m);
      } catch (InvalidProtocolBufferException e) {
        throw new StorageFailure("corrupt member record", e);
      }
    }
    checkIterator(it);
    return out;
  }

  static SortedMap<Long, io.flotilla.storage.proto.PlacementTarget> placementTargets(RocksIterator it, byte[] prefix) {
    SortedMap<Long, io.flotilla.storage.proto.PlacementTarget> out = new TreeMap<>();
    for (it.seek(prefix); it.isValid() && Keys.hasPrefix(it.key(), prefix); it.next()) {
      try {
        io.flotilla.storage.proto.PlacementTarget t = io.flotilla.storage.proto.PlacementTarget.parseFrom(it.value());
        out.put(t.getRangeId(), t);
      } catch (InvalidProtocolBufferException e) {
        throw new StorageFailure("corrupt placement record", e);
      }
    }
    checkIterator(it);
    return out;
  }

  /** An iterator that stopped on an error rather than at the end fails the read. */
  static void checkIterator(RocksIterator it) {
    try {
      it.status();
    } catch (RocksDBException e) {
      throw new StorageFailure("iterator failed", e);
    }
  }
}
