package io.flotilla.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.SessionRecord;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.TreeSet;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

/**
 * Exactly-once client sessions. The durable table is the {@code sessions} column family (written in
 * the same batch as the command); this class keeps an in-memory index ordered by last-touched log
 * index, rebuilt on open, so expiry costs O(expired) per entry instead of a scan.
 *
 * <p>Expiry is a function of the log index only: before applying the entry at index {@code i},
 * every session last advanced at {@code t} with {@code i - t > expiryEntries} is removed. Batching
 * therefore cannot change which sessions exist when a command is applied.
 *
 * <p>Not thread-safe: used only by the apply path.
 */
final class SessionTable {

  private record Touch(long index, long clientId) implements Comparable<Touch> {
    @Override
    public int compareTo(Touch o) {
      int c = Long.compare(index, o.index);
      return c != 0 ? c : Long.compare(clientId, o.clientId);
    }
  }

  private final long rangeId;
  private final long expiryEntries;
  private final Map<Long, Long> lastTouched = new HashMap<>();
  private final NavigableSet<Touch> byTouch = new TreeSet<>();

  /** Only the apply path uses this table, so one digest instance serves every command. */
  private final MessageDigest sha;

  private SessionTable(long rangeId, long expiryEntries) {
    this.rangeId = rangeId;
    this.expiryEntries = expiryEntries;
    try {
      this.sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** The sessions of range {@code rangeId} (its prefix of the sessions column family). */
  static SessionTable load(RocksDB db, ColumnFamilyHandle sessionsCf, long rangeId, long expiryEntries) {
    SessionTable table = new SessionTable(rangeId, expiryEntries);
    byte[] prefix = Keys.sessionPrefix(rangeId);
    try (RocksIterator it = db.newIterator(sessionsCf)) {
      for (it.seek(prefix); it.isValid() && Keys.hasPrefix(it.key(), prefix); it.next()) {
        long clientId = Keys.clientId(it.key());
        table.index(clientId, parse(it.value()).getLastTouchedIndex());
      }
    }
    return table;
  }

  int size() {
    return lastTouched.size();
  }

  /** The client ids with a live session, in id order (a split copies them to the right range). */
  java.util.List<Long> clients() {
    return lastTouched.keySet().stream().sorted().toList();
  }

  /** Removes, through {@code sessions}, every session expired as of log index {@code index}. */
  void expire(long index, ColumnView sessions) {
    while (!byTouch.isEmpty() && index - byTouch.first().index() > expiryEntries) {
      Touch oldest = byTouch.pollFirst();
      lastTouched.remove(oldest.clientId());
      sessions.delete(Keys.sessionKey(rangeId, oldest.clientId()));
    }
  }

  /** The session of {@code clientId}, or null when unknown or expired. */
  SessionRecord get(long clientId, ColumnView sessions) {
    byte[] raw = sessions.get(Keys.sessionKey(rangeId, clientId));
    return raw == null ? null : parse(raw);
  }

  void record(long clientId, long sequence, long index, Result result, ByteString commandDigest,
      ColumnView sessions) {
    SessionRecord record = SessionRecord.newBuilder()
        .setLastSequence(sequence)
        .setLastTouchedIndex(index)
        .setLastResult(result)
        .setLastCommandDigest(commandDigest)
        .build();
    sessions.put(Keys.sessionKey(rangeId, clientId), record.toByteArray());
    index(clientId, index);
  }

  /**
   * What a session remembers of its last command: the first 16 bytes of its SHA-256. Enough to
   * tell a retry from a different write under the same sequence (a client bug) with no realistic
   * chance of a false match, at a fixed 16 bytes per session.
   */
  ByteString digest(byte[] command) {
    return ByteString.copyFrom(sha.digest(command), 0, DIGEST_BYTES);
  }

  static final int DIGEST_BYTES = 16;

  private void index(long clientId, long touchedAt) {
    Long previous = lastTouched.put(clientId, touchedAt);
    if (previous != null) {
      byTouch.remove(new Touch(previous, clientId));
    }
    byTouch.add(new Touch(touchedAt, clientId));
  }

  private static SessionRecord parse(byte[] raw) {
    try {
      return SessionRecord.parseFrom(raw);
    } catch (InvalidProtocolBufferException e) {
      throw new StorageFailure("corrupt session record", e);
    }
  }
}
