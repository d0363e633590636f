package io.flotilla.wal;

/**
 * Observes the writer, for metrics. Called on the writer thread after every group commit, so it
 * must be cheap and must not block (record into a histogram, bump a counter; never I/O).
 * The log has no metrics library of its own: the server binds this to Micrometer.
 */
public interface WalListener {
  /** Does nothing; the default. */
  WalListener NONE = (entries, bytes, writeNanos, forceNanos) -> { };

  /**
   * One group commit.
   *
   * @param entries    entries made durable by this force
   * @param bytes      bytes written for them (records, headers included)
   * @param writeNanos time spent in write calls (zero-fill of preallocation included)
   * @param forceNanos time spent in the force (fdatasync)
   */
  void onCommit(int entries, long bytes, long writeNanos, long forceNanos);
}
