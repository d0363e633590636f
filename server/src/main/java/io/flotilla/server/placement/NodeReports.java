package io.flotilla.server.placement;

import io.flotilla.client.proto.NodeReport;
import io.flotilla.client.proto.NodeReportRequest;
import io.flotilla.client.proto.ReplicaReport;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.RangeState;
import io.flotilla.storage.proto.RangeDescriptor;
import java.io.IOException;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's answer to the placement driver's poll ({@code node_report}, docs/placement.md): what
 * it holds, read locally; and first, the deletion of the replicas the driver names, which their
 * range's leader no longer counts.
 */
public final class NodeReports {
  private static final Logger LOG = LoggerFactory.getLogger(NodeReports.class);

  private final long self;
  private final Store store;

  public NodeReports(long self, Store store) {
    this.self = self;
    this.store = store;
  }

  /**
   * Deletes the replicas {@code request} names (never one this node leads, nor one whose log went
   * past the commit index of the leader's report), then reports.
   */
  public NodeReport answer(NodeReportRequest request) {
    for (var d : request.getDestroyList()) {
      long range = d.getRangeId();
      if (range == Store.KV_GROUP_ID) {
        continue;
      }
      try {
        store.destroyReplica(range, d.getLeaderCommit());
      } catch (IOException | RuntimeException e) {
        LOG.warn("node {}: deleting range {}'s replica failed: {}", self, range, e.toString());
      }
    }
    return report();
  }

  /** What this node holds now. */
  public NodeReport report() {
    NodeReport.Builder out = NodeReport.newBuilder().setNodeId(self);
    long used = 0;
    for (long id : new TreeSet<>(store.replicaIds())) {
      Replica r = store.replica(id);
      if (r == null) {
        continue;
      }
      Configuration cfg = r.raft().configuration();
      ReplicaReport.Builder b = ReplicaReport.newBuilder().setRangeId(id).addAllVoters(new TreeSet<>(cfg.allVoters()))
          .addAllLearners(new TreeSet<>(cfg.learners())).setLeaderId(r.raft().leaderId())
          .setRequests(r.writesServed() + r.readsServed()).setCommitIndex(r.raft().commitIndex())
          .setLastIndex(r.storage().lastIndex());
      RangeState range = r.range();
      if (range == null) {
        b.setPlaceholder(true);
      } else {
        RangeDescriptor d = range.descriptor();
        long bytes = range.approximateBytes();
        used += bytes;
        b.setStartKey(d.getStartKey()).setEndKey(d.getEndKey()).setApproximateBytes(bytes);
      }
      out.addReplicas(b);
    }
    return out.setUsedBytes(used).build();
  }
}
