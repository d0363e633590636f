package io.flotilla.storage;

import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatchWithIndex;

/** A {@link ColumnView} over a {@link WriteBatchWithIndex} layered on the database. */
final class BatchColumn implements ColumnView {

  private final RocksDB db;
  private final WriteBatchWithIndex batch;
  private final ColumnFamilyHandle cf;
  private final ReadOptions readOptions;

  BatchColumn(RocksDB db, WriteBatchWithIndex batch, ColumnFamilyHandle cf, ReadOptions readOptions) {
    this.db = db;
    this.batch = batch;
    this.cf = cf;
    this.readOptions = readOptions;
  }

  @Override
  public byte[] get(byte[] key) {
    try {
      return batch.getFromBatchAndDB(db, cf, readOptions, key);
    } catch (RocksDBException e) {
      throw new StorageFailure("read during apply failed", e);
    }
  }

  @Override
  public void put(byte[] key, byte[] value) {
    try {
      batch.put(cf, key, value);
    } catch (RocksDBException e) {
      throw new StorageFailure("batch put failed", e);
    }
  }

  @Override
  public void delete(byte[] key) {
    try {
      batch.delete(cf, key);
    } catch (RocksDBException e) {
      throw new StorageFailure("batch delete failed", e);
    }
  }
}
