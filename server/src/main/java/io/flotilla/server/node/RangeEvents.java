package io.flotilla.server.node;

import io.flotilla.raft.Role;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.server.admin.EventRing;
import io.flotilla.server.store.Store;

/**
 * The ranges' part of the dashboard's recent events: each split this node applies; each time this
 * node's replica of a range other than the system range becomes its leader (an election, a
 * transfer, a kill of the old leader: the range's leadership moved here), takes a snapshot or
 * installs one. The system range's own
 * elections, leaders and snapshots are {@link NodeMetrics}'. Followers' "follows node N" of every
 * range are left out: with many ranges they would push everything else out of the ring.
 */
final class RangeEvents implements Store.RangeListener {
  private final EventRing events;
  private final java.util.function.Consumer<io.flotilla.server.store.Replica> created;

  /** @param created told of every replica made on this node (its metrics are bound there) */
  RangeEvents(EventRing events, java.util.function.Consumer<io.flotilla.server.store.Replica> created) {
    this.events = events;
    this.created = created;
  }

  @Override
  public void replicaCreated(io.flotilla.server.store.Replica r) {
    created.accept(r);
  }

  @Override
  public void replicaDestroyed(long id) {
    events.record(EventRing.MEMBERSHIP, "range " + id + ": this node's replica deleted (placement moved it away)");
  }

  @Override
  public void rangeSplit(long parent, long created, String atKey) {
    events.record(EventRing.SPLIT, "range " + parent + " split at '" + atKey + "': range " + created
        + " holds the keys from there");
  }

  @Override
  public RaftNode.Listener raftListener(long rangeId) {
    return new RaftNode.Listener() {
      private Role last;

      @Override
      public void roleChanged(Role role, long term, long leaderId) {
        if (role == Role.LEADER && last != Role.LEADER) {
          events.record(EventRing.LEADER, "range " + rangeId + ": became its leader in term " + term);
        }
        last = role;
      }

      @Override
      public void snapshotTaken(long index, long bytes, long nanos) {
        events.record(EventRing.SNAPSHOT, "range " + rangeId + ": snapshot taken at index " + index
            + " (" + bytes + " bytes), log compacted");
      }

      @Override
      public void snapshotInstalled(long index, long bytes, long nanos) {
        events.record(EventRing.SNAPSHOT, "range " + rangeId + ": snapshot installed from its leader at index "
            + index + " (" + bytes + " bytes)");
      }
    };
  }
}
