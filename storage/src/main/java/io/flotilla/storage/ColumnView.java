package io.flotilla.storage;

/**
 * One column family as seen by the command being applied: reads see the writes of earlier
 * commands in the same batch, writes go to the batch. Nothing reaches disk until the batch does.
 */
interface ColumnView {

  /** The current value, or null when absent. */
  byte[] get(byte[] key);

  void put(byte[] key, byte[] value);

  void delete(byte[] key);
}
