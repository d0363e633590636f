package io.flotilla.server.placement;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.NodeInfo;
import io.flotilla.client.proto.NodeListResult;
import io.flotilla.client.proto.PlacementSettingsResult;
import io.flotilla.client.proto.RangeIdResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.store.Replica;
import io.flotilla.storage.proto.AllocateRangeId;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.PlacementSettings;
import java.util.concurrent.CompletableFuture;

/**
 * The placement requests the system range's leader serves (docs/placement.md): {@code node_list},
 * {@code node_decommission}, {@code placement_set} and {@code allocate_range_id}.
 */
public final class PlacementRequests {
  private final Replica system;
  private final PlacementDriver driver;

  public PlacementRequests(Replica system, PlacementDriver driver) {
    this.system = system;
    this.driver = driver;
  }

  public static boolean handles(Request r) {
    return r.hasNodeList() || r.hasNodeDecommission() || r.hasPlacementSet() || r.hasAllocateRangeId();
  }

  /** One of {@link #handles}'s requests, on the system range's leader. */
  public CompletableFuture<Response> handle(Request r) {
    long id = r.getRequestId();
    if (r.hasNodeList()) {
      return done(Response.newBuilder().setRequestId(id).setNodeList(nodeList()).build());
    }
    if (r.hasAllocateRangeId()) {
      byte[] c = Command.newBuilder().setAllocateRangeId(AllocateRangeId.newBuilder()
          .setAbove(r.getAllocateRangeId().getAbove())).build().toByteArray();
      return system.propose(c).thenApply(a -> Response.newBuilder().setRequestId(id).setAllocateRangeId(
          RangeIdResult.newBuilder().setRangeId(a.result().getRangeIdAllocated().getRangeId())).build());
    }
    if (r.hasPlacementSet()) {
      return placementSet(id, r.getPlacementSet().getReplicationFactor(), r.getPlacementSet().getMaxMovesPerNode());
    }
    return decommission(id, r.getNodeDecommission().getNodeId());
  }

  private NodeListResult nodeList() {
    PlacementDriver.View v = driver.view();
    NodeListResult.Builder out = NodeListResult.newBuilder().setReplicationFactor(v.settings().getReplicationFactor())
        .setPendingMoves(v.pendingMoves());
    v.nodes().values().forEach(n -> out.addNodes(NodeInfo.newBuilder().setId(n.id()).setAddress(n.address())
        .setState(n.state()).setReplicas(n.replicas()).setLeaders(n.leaders()).setUsedBytes(n.usedBytes())));
    return out.build();
  }

  private CompletableFuture<Response> placementSet(long id, int rf, int moves) {
    PlacementSettings now = driver.settings();
    if (rf == 0 && moves == 0) {
      return done(settingsResponse(id, now));
    }
    if (rf < 0 || rf > 7 || moves < 0) {
      return done(KvTranslator.error(id, Error.Code.INVALID_ARGUMENT,
          "--replication-factor must be 1 to 7 and --max-moves-per-node at least 1"));
    }
    PlacementSettings next = now.toBuilder().setReplicationFactor(rf == 0 ? now.getReplicationFactor() : rf)
        .setMaxMovesPerNode(moves == 0 ? now.getMaxMovesPerNode() : moves).build();
    return system.propose(Command.newBuilder().setPlacementSettings(next).build().toByteArray()).thenApply(a ->
        a.result().hasError() ? KvTranslator.error(id, Error.Code.INVALID_ARGUMENT, a.result().getError().getMessage())
            : settingsResponse(id, next));
  }

  private static Response settingsResponse(long id, PlacementSettings s) {
    return Response.newBuilder().setRequestId(id).setPlacementSet(PlacementSettingsResult.newBuilder()
        .setReplicationFactor(s.getReplicationFactor()).setMaxMovesPerNode(s.getMaxMovesPerNode())).build();
  }

  private CompletableFuture<Response> decommission(long id, long node) {
    MemberInfo m = system.stateMachine().members().get(node);
    if (node <= 0 || m == null || !system.raft().configuration().isMember(node)) {
      return done(KvTranslator.error(id, Error.Code.INVALID_ARGUMENT, "node " + node + " is not a member of this"
          + " cluster (bin/flotilla node list)"));
    }
    if (system.raft().configuration().members().size() <= 1) {
      return done(KvTranslator.error(id, Error.Code.INVALID_ARGUMENT, "node " + node
          + " is the only member: nothing could take its ranges"));
    }
    CompletableFuture<?> written = m.getDecommissioning() ? CompletableFuture.completedFuture(null)
        : system.proposeMemberRecord(m.toBuilder().setDecommissioning(true).build());
    return written.thenApply(x -> Response.newBuilder().setRequestId(id).setNodeDecommission(nodeList()).build());
  }

  private static CompletableFuture<Response> done(Response r) {
    return CompletableFuture.completedFuture(r);
  }
}
