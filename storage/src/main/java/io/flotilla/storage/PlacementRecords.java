package io.flotilla.storage;

import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.PlacementSettings;
import io.flotilla.storage.proto.PlacementTarget;
import io.flotilla.storage.proto.RangeIdAllocated;
import io.flotilla.storage.proto.Result;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * The placement bookkeeping a range's log carries (the system range's: docs/placement.md): where
 * each range's replicas should be, the range ids handed out for splits, the placement settings.
 * Range-local meta records, so a snapshot of the range carries them.
 */
final class PlacementRecords {
  /** The most replicas a range may be asked to have. */
  static final int MAX_REPLICATION_FACTOR = 7;

  private PlacementRecords() {}

  static boolean handles(Command c) {
    return c.hasPlacement() || c.hasAllocateRangeId() || c.hasPlacementSettings();
  }

  /** Applies {@code c} (one {@link #handles} accepts) in range {@code rangeId}'s meta records. */
  static Result apply(long rangeId, Command c, ColumnView meta) {
    if (c.hasPlacement()) {
      PlacementTarget t = c.getPlacement();
      Set<Long> voters = new HashSet<>(t.getVotersList());
      if (t.getRangeId() <= 0 || voters.isEmpty() || voters.contains(0L) || voters.size() != t.getVotersCount()
          || voters.size() > MAX_REPLICATION_FACTOR) {
        return Results.error(Error.Code.INVALID_ARGUMENT, "a placement target needs a range id and 1 to "
            + MAX_REPLICATION_FACTOR + " distinct node ids");
      }
      if (t.getPreferredLeader() != 0 && !voters.contains(t.getPreferredLeader())) {
        return Results.error(Error.Code.INVALID_ARGUMENT, "the preferred leader must be one of the voters");
      }
      meta.put(Keys.placementKey(rangeId, t.getRangeId()), t.toByteArray());
      return Results.NOOP;
    }
    if (c.hasPlacementSettings()) {
      PlacementSettings s = c.getPlacementSettings();
      if (s.getReplicationFactor() < 1 || s.getReplicationFactor() > MAX_REPLICATION_FACTOR
          || s.getMaxMovesPerNode() < 1) {
        return Results.error(Error.Code.INVALID_ARGUMENT, "replication factor must be 1 to "
            + MAX_REPLICATION_FACTOR + " and moves per node at least 1");
      }
      meta.put(Keys.placementSettingsKey(rangeId), s.toByteArray());
      return Results.NOOP;
    }
    // A range id never handed out: one past the last, and past every id the proposer knows.
    byte[] last = meta.get(Keys.rangeIdsKey(rangeId));
    long next = Math.max(c.getAllocateRangeId().getAbove(), last == null ? 0 : ByteBuffer.wrap(last).getLong()) + 1;
    meta.put(Keys.rangeIdsKey(rangeId), ByteBuffer.allocate(Long.BYTES).putLong(next).array());
    return Result.newBuilder().setRangeIdAllocated(RangeIdAllocated.newBuilder().setRangeId(next)).build();
  }
}
