package io.flotilla.wal;

/**
 * Observes the writer, for metrics. Called on the thread that forced (the writer's, or a caller's
 * writing inline) after every group commit, so it must be cheap and must not block (record into a
 * histogram, bump a counter; never I/O). The log has no metrics library of its own: the server
 * binds this to Micrometer.
 */
public interface WalListener {
  /** Does nothing; the default. */
  WalListener NONE = (entries, bytes, writeNanos, forceNanos) -> { };

  /**
   * One group commit.
   *
   * @param entries    entry records made durable by this force
   * @param bytes      bytes written for them (records, headers included)
   * @param writeNanos time spent in write calls (zero-fill of preallocation included)
   * @param forceNanos time spent in the force (fdatasync)
   */
  void onCommit(int entries, long bytes, long writeNanos, long forceNanos);

  /**
   * One group commit, with the number of Raft groups that had records in it (forces per second
   * should not grow with the number of groups; groups per force should). By default
   * {@link #onCommit}.
   */
  default void onGroupCommit(int entries, int groups, long bytes, long writeNanos,
      long forceNanos) {
    onCommit(entries, bytes, writeNanos, forceNanos);
  }

  /**
   * Group {@code groupId} pins the oldest segment with more live records ({@code liveBytes}) than
   * the log rewrites for a laggard (docs/wal.md, "Reclaiming segments"): its owner should take a
   * snapshot and compact. Called under the log's locks: must not call back into it.
   */
  default void onCompactionWanted(long groupId, long liveBytes) { }
}
