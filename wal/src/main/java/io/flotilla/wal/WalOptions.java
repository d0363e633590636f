package io.flotilla.wal;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How a log is opened.
 *
 * @param dir                data directory, created if missing, locked while open
 * @param segmentBytes       a segment is rolled when the next record would pass this size
 * @param preallocateBytes   the active segment is zero-filled ahead of the writer in steps of this
 *                           size, so a force rarely has file-size metadata to sync
 * @param cacheBytes         recent entries kept in memory for the replication hot path
 * @param maxBatchBytes      bytes encoded into one write before the writer forces and starts over
 * @param maxEntryBytes      largest payload accepted
 * @param groupId            the log's own group: the one the single-group {@link Wal} API serves,
 *                           with its hard state and compaction point in files of their own, and the
 *                           id every segment header carries; {@link #NO_GROUP} for a node's shared
 *                           log, whose groups all keep their state in records
 * @param repair             on corruption, truncate the log at the damage instead of failing
 * @param sync               force after each batch; false only for tests and benchmarks of the CPU
 *                           path, never for data anyone cares about
 * @param retainedSegments   when more segments than this are live, groups that pin the oldest
 *                           one get their live records rewritten at the head (if at most
 *                           {@code rewriteBytes}) so it can be freed
 * @param rewriteBytes       the most live record bytes of one group that a reclaim rewrites; a
 *                           group with more is asked to compact instead
 */
public record WalOptions(
    Path dir,
    long segmentBytes,
    long preallocateBytes,
    long cacheBytes,
    int maxBatchBytes,
    int maxEntryBytes,
    long groupId,
    boolean repair,
    boolean sync,
    int retainedSegments,
    long rewriteBytes) {

  public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
  public static final long DEFAULT_PREALLOCATE_BYTES = 8L << 20;
  public static final long DEFAULT_CACHE_BYTES = 16L << 20;
  public static final int DEFAULT_MAX_BATCH_BYTES = 4 << 20;
  public static final int DEFAULT_MAX_ENTRY_BYTES = 16 << 20;
  public static final int DEFAULT_RETAINED_SEGMENTS = 8;
  public static final long DEFAULT_REWRITE_BYTES = 4L << 20;
  /** {@link #groupId} of a shared log: every group keeps its state in records. */
  public static final long NO_GROUP = -1;
  /** Record offsets are stored as ints, so a segment stays below 1 GiB with room for one entry. */
  static final long MAX_SEGMENT_BYTES = 1L << 30;

  public WalOptions {
    Objects.requireNonNull(dir, "dir");
    if (segmentBytes < 4096 || segmentBytes > MAX_SEGMENT_BYTES) {
      throw new IllegalArgumentException("segmentBytes must be in [4096, 1 GiB]: " + segmentBytes);
    }
    if (preallocateBytes < 0) {
      throw new IllegalArgumentException("preallocateBytes must not be negative: " + preallocateBytes);
    }
    if (cacheBytes < 0) {
      throw new IllegalArgumentException("cacheBytes must not be negative: " + cacheBytes);
    }
    if (maxEntryBytes <= 0 || maxEntryBytes > MAX_SEGMENT_BYTES / 2) {
      throw new IllegalArgumentException("maxEntryBytes must be in (0, 512 MiB]: " + maxEntryBytes);
    }
    if (maxBatchBytes < RecordFormat.HEADER_SIZE + 1) {
      throw new IllegalArgumentException("maxBatchBytes too small: " + maxBatchBytes);
    }
    if (groupId < NO_GROUP) {
      throw new IllegalArgumentException("groupId must not be negative (or NO_GROUP): " + groupId);
    }
    if (retainedSegments < 1 || rewriteBytes < 0) {
      throw new IllegalArgumentException("retainedSegments >= 1 and rewriteBytes >= 0 required");
    }
  }

  public static WalOptions defaults(Path dir) {
    return new WalOptions(dir, DEFAULT_SEGMENT_BYTES, DEFAULT_PREALLOCATE_BYTES, DEFAULT_CACHE_BYTES,
        DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_ENTRY_BYTES, 0L, false, true, DEFAULT_RETAINED_SEGMENTS,
        DEFAULT_REWRITE_BYTES);
  }

  /** A node's shared log: no group of its own, every group's state in records. */
  public static WalOptions shared(Path dir) {
    return defaults(dir).withGroupId(NO_GROUP);
  }

  public WalOptions withSegmentBytes(long v) {
    return new WalOptions(dir, v, Math.min(preallocateBytes, v), cacheBytes, maxBatchBytes,
        maxEntryBytes, groupId, repair, sync, retainedSegments, rewriteBytes);
  }

  public WalOptions withPreallocateBytes(long v) {
    return new WalOptions(dir, segmentBytes, v, cacheBytes, maxBatchBytes, maxEntryBytes, groupId,
        repair, sync, retainedSegments, rewriteBytes);
  }

  public WalOptions withCacheBytes(long v) {
    return new WalOptions(dir, segmentBytes, preallocateBytes, v, maxBatchBytes, maxEntryBytes,
        groupId, repair, sync, retainedSegments, rewriteBytes);
  }

  public WalOptions withMaxBatchBytes(int v) {
    return new WalOptions(dir, segmentBytes, preallocateBytes, cacheBytes, v, maxEntryBytes,
        groupId, repair, sync, retainedSegments, rewriteBytes);
  }

  public WalOptions withGroupId(long v) {
    return new WalOptions(dir, segmentBytes, preallocateBytes, cacheBytes, maxBatchBytes,
        maxEntryBytes, v, repair, sync, retainedSegments, rewriteBytes);
  }

  public WalOptions withRepair() {
    return new WalOptions(dir, segmentBytes, preallocateBytes, cacheBytes, maxBatchBytes,
        maxEntryBytes, groupId, true, sync, retainedSegments, rewriteBytes);
  }

  public WalOptions withSync(boolean v) {
    return new WalOptions(dir, segmentBytes, preallocateBytes, cacheBytes, maxBatchBytes,
        maxEntryBytes, groupId, repair, v, retainedSegments, rewriteBytes);
  }

  /** Reclaim settings: see {@link #retainedSegments} and {@link #rewriteBytes}. */
  public WalOptions withReclaim(int retained, long rewrite) {
    return new WalOptions(dir, segmentBytes, preallocateBytes, cacheBytes, maxBatchBytes,
        maxEntryBytes, groupId, repair, sync, retained, rewrite);
  }
}
