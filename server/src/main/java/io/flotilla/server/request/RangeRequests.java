package io.flotilla.server.request;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.RangeInfo;
import io.flotilla.client.proto.RangeListResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.TransferLeaderResult;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.membership.LeaderTransfer;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.RangeState;
import io.flotilla.storage.proto.RangeDescriptor;
import java.util.Arrays;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BiFunction;

/**
 * The range requests (docs/ranges.md): {@code range_list} (this node's view of every range),
 * {@code range_split} (proposed by the leader of the range holding the key, through that range's
 * log) and {@code range_transfer_leader}. A request that needs a range's leader and reaches another
 * node is forwarded to it, or answered NOT_LEADER.
 */
final class RangeRequests {
  private final long self;
  private final Store store;
  private final ProtocolErrors errors;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "range-requests");
    t.setDaemon(true);
    return t;
  });

  RangeRequests(long self, Store store, ProtocolErrors errors) {
    this.self = self;
    this.store = store;
    this.errors = errors;
  }

  /**
   * @param forward hands a request to the leader of a replica's range; null when it cannot (the
   *                caller answers NOT_LEADER)
   */
  CompletableFuture<Response> handle(Request r, BiFunction<Request, Replica, CompletableFuture<Response>> forward,
      BiFunction<Request, java.util.List<Long>, CompletableFuture<Response>> toHolders) {
    long id = r.getRequestId();
    if (r.hasRangeList()) {
      return CompletableFuture.completedFuture(list(id, false));
    }
    Replica replica;
    java.util.List<Long> holders;
    if (r.hasRangeSplit()) {
      byte[] key = r.getRangeSplit().getKey().toByteArray();
      if (key.length == 0) {
        return error(id, Error.Code.INVALID_ARGUMENT, "a split needs a key: the first key of the new range");
      }
      replica = store.replicaFor(key);
      holders = replica == null ? HolderRouting.holders(store, key) : java.util.List.of();
    } else {
      long range = r.getRangeTransferLeader().getRangeId();
      replica = store.replica(range);
      holders = replica == null ? HolderRouting.holders(store, range) : java.util.List.of();
    }
    if (replica == null) {
      // Placement put the range on other nodes: hand the request to one of them.
      CompletableFuture<Response> elsewhere = holders.isEmpty() ? null : toHolders.apply(r, holders);
      if (elsewhere != null) {
        return elsewhere;
      }
      if (r.hasRangeTransferLeader() && holders.isEmpty()) {
        return error(id, Error.Code.INVALID_ARGUMENT, "no range " + r.getRangeTransferLeader().getRangeId()
            + " is known here (bin/flotilla range list)");
      }
      return error(id, Error.Code.UNAVAILABLE, "node " + self + " holds no replica of that range; retry");
    }
    if (!replica.raft().isLeader()) {
      CompletableFuture<Response> forwarded = forward.apply(r, replica);
      return forwarded != null ? forwarded
          : CompletableFuture.completedFuture(errors.notLeader(id, replica.raft().leaderId()));
    }
    return r.hasRangeSplit() ? split(id, replica, r.getRangeSplit().getKey().toByteArray())
        : transfer(id, replica, r.getRangeTransferLeader().getTarget());
  }

  /** Proposes the split through the range's log ({@link Store#proposeSplit}). */
  private CompletableFuture<Response> split(long id, Replica replica, byte[] key) {
    RangeDescriptor d = replica.range().descriptor();
    if (Arrays.equals(key, d.getStartKey().toByteArray())) {
      return CompletableFuture.completedFuture(list(id, true)); // already a boundary: done
    }
    if (replica.raft().configuration().isJoint()) {
      return error(id, Error.Code.UNAVAILABLE, "a membership change of range " + d.getRangeId()
          + " is in progress: split after it; not applied, retry");
    }
    return store.proposeSplit(replica, key).thenApply(result -> {
      if (result == null) {
        return KvTranslator.error(id, Error.Code.INTERNAL, "the result of the split was not kept");
      }
      if (result.hasError()) {
        var e = result.getError();
        Error.Code code = e.getCode() == io.flotilla.storage.proto.Error.Code.INVALID_ARGUMENT
            ? Error.Code.INVALID_ARGUMENT : Error.Code.UNAVAILABLE;
        return KvTranslator.error(id, code, "split not applied: " + e.getMessage());
      }
      return list(id, true);
    });
  }

  private CompletableFuture<Response> transfer(long id, Replica replica, long target) {
    return LeaderTransfer.transfer(replica.raft(), self, target, timer).handle((leader, err) -> {
      Throwable c = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      if (c instanceof LeaderTransfer.NoSuchVoter) {
        return KvTranslator.error(id, Error.Code.INVALID_ARGUMENT, c.getMessage());
      }
      if (c instanceof LeaderTransfer.DidNotMove) {
        return KvTranslator.error(id, Error.Code.UNAVAILABLE, c.getMessage());
      }
      if (c != null) {
        throw c instanceof CompletionException ce ? ce : new CompletionException(c);
      }
      return Response.newBuilder().setRequestId(id)
          .setRangeTransferLeader(TransferLeaderResult.newBuilder().setLeaderId(leader)).build();
    });
  }

  /**
   * Every range, in key order: those this node holds as it knows them, and those placement put
   * elsewhere as the system range's records name them (leader: the preferred one, if any).
   */
  private Response list(long id, boolean asSplit) {
    java.util.List<RangeInfo> all = new java.util.ArrayList<>();
    java.util.Set<Long> held = new java.util.HashSet<>();
    for (Replica replica : store.replicas()) {
      RangeState range = replica.range();
      RangeDescriptor d = range.descriptor();
      held.add(d.getRangeId());
      RangeInfo.Builder info = RangeInfo.newBuilder().setRangeId(d.getRangeId()).setStartKey(d.getStartKey())
          .setEndKey(d.getEndKey()).setEpochConfVersion(d.getEpoch().getConfVersion())
          .setEpochVersion(d.getEpoch().getVersion()).setLeaderId(replica.raft().leaderId())
          .setApproximateBytes(range.approximateBytes()).setAppliedIndex(range.appliedIndex());
      new TreeSet<>(replica.raft().configuration().members()).forEach(info::addReplicas);
      all.add(info.build());
    }
    Replica system = store.replica(Store.KV_GROUP_ID);
    if (system != null && system.range() != null) {
      for (var t : system.range().placementTargets().values()) {
        if (!held.contains(t.getRangeId()) && !t.getStartKey().isEmpty() && !overlaps(all, t)) {
          all.add(RangeInfo.newBuilder().setRangeId(t.getRangeId()).setStartKey(t.getStartKey())
              .setEndKey(t.getEndKey()).setLeaderId(t.getPreferredLeader()).addAllReplicas(t.getVotersList()).build());
        }
      }
    }
    all.sort((a, b) -> Arrays.compareUnsigned(a.getStartKey().toByteArray(), b.getStartKey().toByteArray()));
    RangeListResult.Builder out = RangeListResult.newBuilder().addAllRanges(all);
    Response.Builder b = Response.newBuilder().setRequestId(id);
    return (asSplit ? b.setRangeSplit(out) : b.setRangeList(out)).build();
  }

  /** Whether a record's span overlaps a range listed already (a record older than a split here). */
  private static boolean overlaps(java.util.List<RangeInfo> listed, io.flotilla.storage.proto.PlacementTarget t) {
    byte[] s = t.getStartKey().toByteArray();
    byte[] e = t.getEndKey().toByteArray();
    for (RangeInfo r : listed) {
      byte[] rs = r.getStartKey().toByteArray();
      byte[] re = r.getEndKey().toByteArray();
      boolean before = e.length > 0 && Arrays.compareUnsigned(e, rs) <= 0;
      boolean after = re.length > 0 && Arrays.compareUnsigned(re, s) <= 0;
      if (!before && !after) {
        return true;
      }
    }
    return false;
  }

  private static CompletableFuture<Response> error(long id, Error.Code code, String message) {
    return CompletableFuture.completedFuture(KvTranslator.error(id, code, message));
  }

  void close() {
    timer.shutdownNow();
  }
}
