package io.flotilla.server.membership;

import io.flotilla.client.proto.NodeIdResult;
import io.flotilla.storage.proto.AllocateNodeId;
import io.flotilla.storage.proto.Command;

import io.flotilla.client.Endpoint;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Member;
import io.flotilla.client.proto.MemberChangeRequest;
import io.flotilla.client.proto.MemberListResult;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.TransferLeaderResult;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeError;
import io.flotilla.raft.node.ConfChangeException;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.server.store.Replica;
import io.flotilla.storage.proto.MemberInfo;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The leader's answers to {@code member_list}, {@code transfer_leader} and {@code member_change}
 * (docs/protocol.md, "Membership requests"). The caller has checked that this node leads; a
 * failure completes the future exceptionally and is mapped to a protocol error by the request
 * service, like any other.
 */
final class MemberRequests {
  private final long self;
  private final Replica replica;
  private final MemberDirectory directory;
  private final ScheduledExecutorService timer;

  MemberRequests(long self, Replica replica, MemberDirectory directory, ScheduledExecutorService timer) {
    this.self = self;
    this.replica = replica;
    this.directory = directory;
    this.timer = timer;
  }

  /** The voter other than {@code self} with the highest match index in a leader's status; 0: none. */
  static long mostCaughtUpVoter(RaftNode.Status rs, long self) {
    return LeaderTransfer.mostCaughtUpVoter(rs, self);
  }

  CompletableFuture<Response> memberList(long requestId, boolean asChange) {
    return replica.raft().status().thenApply(rs -> {
      var list = memberList(rs);
      Response.Builder b = Response.newBuilder().setRequestId(requestId);
      return (asChange ? b.setMemberChange(list) : b.setMemberList(list)).build();
    });
  }

  /** Members in the configuration, with addresses; match indexes when {@code rs} is a leader's. */
  private MemberListResult memberList(RaftNode.Status rs) {
    RaftNode raft = replica.raft();
    Configuration cfg = raft.configuration();
    long leader = raft.leaderId();
    var out = MemberListResult.newBuilder().setLeaderId(leader);
    for (long id : new TreeSet<>(cfg.members())) {
      var m = Member.newBuilder().setId(id).setRole(cfg.isVoter(id) ? "voter" : "learner").setLeader(id == leader);
      if (rs != null) {
        m.setMatchIndex(rs.matchIndex().getOrDefault(id, 0L));
      }
      NodeConfig.Member where = directory.where(id);
      if (where != null) {
        m.setPeerAddress(where.peer().toString());
        if (where.client() != null) {
          m.setClientAddress(where.client().toString());
        }
      }
      out.addMembers(m);
    }
    replica.stateMachine().members().values().stream().filter(MemberInfo::getRemoved).map(MemberInfo::getId)
        .sorted().forEach(out::addRemovedIds);
    return out.build();
  }

  /** Asks for the transfer, then answers once another node leads (or the request's deadline passes). */
  CompletableFuture<Response> transferLeader(long requestId, long target) {
    return LeaderTransfer.transfer(replica.raft(), self, target, timer).handle((leader, err) -> {
      Throwable c = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
          ? err.getCause() : err;
      if (c instanceof LeaderTransfer.NoSuchVoter) {
        return KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT, c.getMessage());
      }
      if (c instanceof LeaderTransfer.DidNotMove) {
        return KvTranslator.error(requestId, Error.Code.UNAVAILABLE, c.getMessage());
      }
      if (c != null) {
        throw c instanceof java.util.concurrent.CompletionException ce ? ce : new java.util.concurrent.CompletionException(c);
      }
      return Response.newBuilder().setRequestId(requestId)
          .setTransferLeader(TransferLeaderResult.newBuilder().setLeaderId(leader)).build();
    });
  }

  /**
   * A node id never handed out before, allocated through the system range's log (so no two
   * leaders, before and after an election, hand out the same one): above every member of the
   * configuration, every member record and every id handed out (docs/operations.md, "Node identity").
   */
  CompletableFuture<Response> allocateNodeId(long requestId) {
    Configuration cfg = replica.raft().configuration();
    long above = cfg.members().stream().mapToLong(Long::longValue).max().orElse(0);
    byte[] command = Command.newBuilder().setAllocateNodeId(AllocateNodeId.newBuilder().setAbove(above)).build()
        .toByteArray();
    return replica.propose(command).thenApply(applied -> {
      var result = applied.result();
      if (result == null || !result.hasNodeIdAllocated()) {
        return KvTranslator.error(requestId, Error.Code.UNAVAILABLE, "the node id was allocated but its value is"
            + " no longer known here; ask again (ids are never reused: this one is simply skipped)");
      }
      return Response.newBuilder().setRequestId(requestId).setAllocateNodeId(
          NodeIdResult.newBuilder().setNodeId(result.getNodeIdAllocated().getNodeId())).build();
    });
  }

  CompletableFuture<Response> change(long requestId, MemberChangeRequest c) {
    long node = c.getNodeId();
    if (node <= 0) {
      return invalid(requestId, "node id must be positive");
    }
    RaftNode raft = replica.raft();
    Configuration cfg = raft.configuration();
    MemberInfo known = replica.stateMachine().members().get(node);
    CompletableFuture<?> done;
    switch (c.getKind()) {
      case ADD_LEARNER -> {
        NodeConfig.Member where;
        try {
          where = new NodeConfig.Member(Endpoint.parse(c.getPeerAddress()),
              c.getClientAddress().isEmpty() ? null : Endpoint.parse(c.getClientAddress()));
        } catch (IllegalArgumentException e) {
          return invalid(requestId,
              "ADD_LEARNER needs the node's peer address (and client address) as HOST:PORT: " + e.getMessage());
        }
        MemberInfo record = MemberDirectory.record(node, where, false).toBuilder()
            .setIncarnation(c.getIncarnation()).build();
        if (known != null && known.getRemoved()) {
          return invalid(requestId, "node id " + node + " was removed from this cluster; ids are never reused:"
              + " start the new node with a new id and an empty data directory");
        }
        if (cfg.isMember(node)) {
          if (record.equals(known)) {
            return memberList(requestId, true); // a join retried: already done
          }
          if (known != null && known.getIncarnation() != 0 && known.getIncarnation() != c.getIncarnation()) {
            // The member's log and votes were in another data directory: taking its place with an
            // empty one could lose acknowledged writes.
            return invalid(requestId, "node " + node + " is already a member with another data directory (a node"
                + " that lost its data directory cannot come back under its old id): remove member " + node
                + " and start the new node without --id to get a new id");
          }
          return invalid(requestId,
              "node " + node + " is already a member" + (known == null ? "" : " at " + known.getPeerAddress()));
        }
        // The address first, so that every node can reach the learner once it is in the configuration.
        done = replica.proposeMemberRecord(record)
            .thenCompose(i -> raft.proposeConfChange(ConfChange.of(ConfChange.addLearner(node))));
      }
      case PROMOTE -> done = raft.proposeConfChange(ConfChange.of(ConfChange.addVoter(node)));
      case REMOVE -> {
        if (!cfg.isMember(node)) {
          // Refused like the core refuses a change: mapped (reason and all) where every failure is.
          return CompletableFuture.failedFuture(new ConfChangeException(ConfChangeError.UNKNOWN_NODE, 0,
              "node " + node + " is not a member"));
        }
        // Tombstone first: once removed, the leader may be gone (it can remove itself).
        NodeConfig.Member where = directory.where(node);
        CompletableFuture<Long> tomb = where == null ? CompletableFuture.completedFuture(0L)
            : replica.proposeMemberRecord(MemberDirectory.record(node, where, true));
        done = tomb.thenCompose(i -> raft.proposeConfChange(ConfChange.of(ConfChange.removeNode(node))));
      }
      default -> {
        return invalid(requestId, "unknown membership change " + c.getKind());
      }
    }
    return done.thenCompose(x -> {
      if (raft.isLeader()) {
        return memberList(requestId, true);
      }
      // This leader removed itself: answer with the configuration as it stands.
      return CompletableFuture.completedFuture(Response.newBuilder().setRequestId(requestId)
          .setMemberChange(memberList(null)).build());
    });
  }

  private static CompletableFuture<Response> invalid(long requestId, String message) {
    return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT, message));
  }
}
