package io.flotilla.client;

import io.flotilla.client.proto.RangeInfo;
import io.flotilla.client.proto.RangeListResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits a fresh cluster at the keys its caller chooses, then hands range i (in key order) to
 * node {@code 1 + i % nodes}, so the ranges' leaders are spread evenly over the nodes. The caller
 * owns the key space: {@code local} and {@code bench --local} split evenly over the load
 * generator's keys, a chaos run at boundaries of its workload's keys (never between the keys of
 * one transaction, which would make it {@code CROSS_RANGE}).
 */
public final class RangePresplit {
  private RangePresplit() {}

  /**
   * Splits at every key of {@code splitKeys} (in any order), waits until every range has a
   * leader, spreads the leaders, and returns the ranges as of then.
   *
   * @throws IllegalStateException when the ranges have no leader within {@code within}
   * @throws java.util.concurrent.CompletionException when a split is refused, or a transfer for
   *     another reason than the range or target having moved meanwhile
   */
  public static RangeListResult apply(FlotillaClient client, List<byte[]> splitKeys, int nodes,
      Duration within) {
    if (nodes < 1) {
      throw new IllegalArgumentException("nodes must be at least 1: " + nodes);
    }
    List<byte[]> keys = new ArrayList<>(splitKeys);
    keys.sort(Arrays::compareUnsigned);
    for (byte[] key : keys) {
      client.splitRange(key).join();
    }
    RangeListResult list = awaitLeaders(client, keys.size() + 1, within);
    int i = 0;
    for (RangeInfo r : list.getRangesList()) {
      long target = 1 + (i++ % nodes);
      // Only to a node holding the range: with more nodes than replicas, placement (which also
      // balances leaders, docs/placement.md) may have moved it already.
      if (r.getLeaderId() != target && r.getReplicasList().contains(target)) {
        try {
          client.transferRangeLeader(r.getRangeId(), target).join();
        } catch (java.util.concurrent.CompletionException e) {
          if (!(e.getCause() instanceof FlotillaException fe)
              || fe.code() != io.flotilla.client.proto.Error.Code.INVALID_ARGUMENT) {
            throw e;
          }
          // The range moved meanwhile (placement): its leader stays where it is.
        }
      }
    }
    return client.ranges().join();
  }

  /** The ranges once there are {@code ranges} and each has a leader (a new range elects within moments). */
  private static RangeListResult awaitLeaders(FlotillaClient c, int ranges, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      RangeListResult list = c.ranges().join();
      if (list.getRangesCount() >= ranges
          && list.getRangesList().stream().allMatch(r -> r.getLeaderId() != 0)) {
        return list;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the ranges have no leader yet after "
            + within.toSeconds() + " s: " + list);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // polling other processes
    }
  }
}
