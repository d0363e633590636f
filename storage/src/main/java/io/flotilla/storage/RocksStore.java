package io.flotilla.storage;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WALRecoveryMode;

/** One open RocksDB directory with the three column families and the native objects it owns. */
final class RocksStore implements AutoCloseable {

  static {
    RocksDB.loadLibrary();
  }

  final Path dir;
  final RocksDB db;
  final ColumnFamilyHandle data;
  final ColumnFamilyHandle meta;
  final ColumnFamilyHandle sessions;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final List<ColumnFamilyHandle> handles;

  private RocksStore(Path dir, RocksDB db, DBOptions dbOptions, ColumnFamilyOptions cfOptions,
      List<ColumnFamilyHandle> handles) {
    this.dir = dir;
    this.db = db;
    this.dbOptions = dbOptions;
    this.cfOptions = cfOptions;
    this.handles = handles;
    this.data = handles.get(0);
    this.meta = handles.get(1);
    this.sessions = handles.get(2);
  }

  static RocksStore open(Path dir) {
    return open(dir, false);
  }

  static RocksStore openReadOnly(Path dir) {
    return open(dir, true);
  }

  private static RocksStore open(Path dir, boolean readOnly) {
    DBOptions dbOptions = new DBOptions()
        .setCreateIfMissing(!readOnly)
        .setCreateMissingColumnFamilies(!readOnly)
        // A torn tail of RocksDB's own WAL (power loss) is cut at the last whole batch; the applied
        // index is in the same batch, so the Raft log replays what was lost. See docs/storage.md.
        .setWalRecoveryMode(WALRecoveryMode.PointInTimeRecovery)
        // Flush all column families together so the SSTs on disk are always one cross-family cut
        // (RocksDB also syncs closed WALs before a multi-family flush; this makes it obvious).
        .setAtomicFlush(true)
        .setMaxBackgroundJobs(2)
        .setKeepLogFileNum(2);
    ColumnFamilyOptions cfOptions = new ColumnFamilyOptions();
    List<ColumnFamilyDescriptor> descriptors = List.of(
        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions),
        new ColumnFamilyDescriptor(Keys.CF_META.getBytes(StandardCharsets.US_ASCII), cfOptions),
        new ColumnFamilyDescriptor(Keys.CF_SESSIONS.getBytes(StandardCharsets.US_ASCII), cfOptions));
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    try {
      RocksDB db = readOnly
          ? RocksDB.openReadOnly(dbOptions, dir.toString(), descriptors, handles)
          : RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
      return new RocksStore(dir, db, dbOptions, cfOptions, handles);
    } catch (RocksDBException e) {
      handles.forEach(ColumnFamilyHandle::close);
      cfOptions.close();
      dbOptions.close();
      throw new StorageFailure("cannot open RocksDB at " + dir, e);
    }
  }

  /** {applied index, applied term} of the default range, as persisted (a whole-store checkpoint's). */
  long[] readApplied() {
    try {
      return Keys.parseApplied(db.get(meta, Keys.appliedKey(KvStateMachine.DEFAULT_RANGE_ID)));
    } catch (RocksDBException e) {
      throw new StorageFailure("cannot read applied index", e);
    }
  }

  @Override
  public void close() {
    handles.forEach(ColumnFamilyHandle::close);
    db.close();
    cfOptions.close();
    dbOptions.close();
  }
}
