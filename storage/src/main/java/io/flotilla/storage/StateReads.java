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
 * The iterations behind {@link KvStateMachine}'s local reads: a page of {@link KvStateMachine#scan}
 * and the member table of {@link KvStateMachine#members}.
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

  /** Every member record, by id, read through {@code it}, an iterator over the meta column. */
  static SortedMap<Long, MemberInfo> members(RocksIterator it) {
    SortedMap<Long, MemberInfo> out = new TreeMap<>();
    for (it.seek(Keys.META_MEMBER_PREFIX); it.isValid(); it.next()) {
      byte[] key = it.key();
      if (key.length != Keys.META_MEMBER_PREFIX.length + Long.BYTES
          || !Arrays.equals(key, 0, Keys.META_MEMBER_PREFIX.length, Keys.META_MEMBER_PREFIX, 0,
              Keys.META_MEMBER_PREFIX.length)) {
        break;
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

  /** An iterator that stopped on an error rather than at the end fails the read. */
  static void checkIterator(RocksIterator it) {
    try {
      it.status();
    } catch (RocksDBException e) {
      throw new StorageFailure("iterator failed", e);
    }
  }
}
