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
 * The bytes behind {@link KvStateMachine#digest()}: SHA-256 over the applied index and term, then
 * every user pair and every session record in key order, from one RocksDB snapshot.
 *
 * <p>Separate from the state machine because its layout (what is hashed, in which order, with
 * which tags and lengths) is a contract between replicas and between versions: replicas that
 * applied the same log prefix must produce equal digests, so this code changes only on purpose.
 */
final class StateDigest {
  private StateDigest() {}

  /** The digest of {@code store}'s current state. The caller holds the state machine's read lock. */
  static byte[] of(RocksStore store) {
    Snapshot snapshot = null;
    try {
      snapshot = store.db.getSnapshot();
      try (ReadOptions ro = new ReadOptions().setSnapshot(snapshot)) {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long[] applied = Keys.parseApplied(store.db.get(store.meta, ro, Keys.META_APPLIED));
        sha.update(ByteBuffer.allocate(16).putLong(applied[0]).putLong(applied[1]).array());
        digestColumn(store, sha, store.data, ro, (byte) 'D');
        digestColumn(store, sha, store.sessions, ro, (byte) 'S');
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

  private static void digestColumn(RocksStore store, MessageDigest sha, ColumnFamilyHandle cf,
      ReadOptions ro, byte tag) {
    try (RocksIterator it = store.db.newIterator(cf, ro)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        byte[] k = it.key();
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
