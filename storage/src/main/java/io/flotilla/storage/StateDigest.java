package io.flotilla.storage;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Snapshot;

/**
 * The bytes behind {@link RangeState#digest()}: SHA-256 over the range's applied index and term,
 * then every user pair of its span and every range-local record (descriptor, member records) and
 * session of the range, in key order, from one RocksDB snapshot.
 *
 * <p>Separate from the state machine because its layout (what is hashed, in which order, with
 * which tags and lengths) is a contract between replicas and between versions: replicas that
 * applied the same log prefix must produce equal digests, so this code changes only on purpose.
 */
final class StateDigest {
  private StateDigest() {}

  /** The digest of {@code range}'s current state. The caller holds the state machine's read lock. */
  static byte[] of(RocksStore store, RangeState range) {
    Snapshot snapshot = null;
    try {
      snapshot = store.db.getSnapshot();
      try (ReadOptions ro = new ReadOptions().setSnapshot(snapshot)) {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long id = range.id();
        long[] applied = Keys.parseApplied(store.db.get(store.meta, ro, Keys.appliedKey(id)));
        sha.update(ByteBuffer.allocate(16).putLong(applied[0]).putLong(applied[1]).array());
        var d = range.descriptor();
        byte[] none = new byte[0];
        digestSpan(store, sha, store.data, ro, (byte) 'D', d.getStartKey().toByteArray(), d.getEndKey().toByteArray(),
            none);
        // The applied index is hashed above, as numbers.
        digestSpan(store, sha, store.meta, ro, (byte) 'M', Keys.rangePrefix(id), Keys.rangePrefixEnd(id),
            Keys.appliedKey(id));
        digestSpan(store, sha, store.sessions, ro, (byte) 'S', Keys.sessionPrefix(id), Keys.sessionPrefixEnd(id),
            none);
        return sha.digest();
      }
    } catch (RocksDBException e) {
      throw new StorageFailure("digest failed", e);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required of every JVM", e);
    } finally {
      if (snapshot != null) {
        store.db.releaseSnapshot(snapshot);
      }
    }
  }

  /** Pairs of {@code cf} in [start, end) (empty end: to the last key) but {@code skip}. */
  private static void digestSpan(RocksStore store, MessageDigest sha, ColumnFamilyHandle cf, ReadOptions ro,
      byte tag, byte[] start, byte[] end, byte[] skip) {
    try (RocksIterator it = store.db.newIterator(cf, ro)) {
      for (it.seek(start); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (end.length > 0 && java.util.Arrays.compareUnsigned(k, end) >= 0) {
          break;
        }
        if (java.util.Arrays.equals(k, skip)) {
          continue;
        }
        byte[] v = it.value();
        sha.update(tag);
        sha.update(ByteBuffer.allocate(8).putInt(k.length).putInt(v.length).array());
        sha.update(k);
        sha.update(v);
      }
      StateReads.checkIterator(it);
    }
  }
}
