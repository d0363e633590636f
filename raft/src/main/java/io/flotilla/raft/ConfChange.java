package io.flotilla.raft;

import java.util.List;

/**
 * A membership change proposed by an operator (after etcd's ConfChangeV2): one or more single
 * changes applied in order to the current configuration. A change that alters the voter set goes
 * through a joint configuration (dissertation §4.3); one that only adds or removes learners takes
 * effect directly. See {@link RaftCore#proposeConfChange}.
 */
public record ConfChange(List<Change> changes) {

    public enum Type {
        /** Promote a learner to voter. A node must be added as a learner first (it catches up). */
        ADD_VOTER,
        /** Add a new node as learner, or demote a voter to learner. */
        ADD_LEARNER,
        /** Remove a voter or learner. */
        REMOVE_NODE
    }

    public record Change(Type type, long nodeId) {
        public Change {
            java.util.Objects.requireNonNull(type, "type");
        }
    }

    public ConfChange {
        changes = List.copyOf(changes);
    }

    public static ConfChange of(Change... changes) {
        return new ConfChange(List.of(changes));
    }

    public static Change addVoter(long nodeId) {
        return new Change(Type.ADD_VOTER, nodeId);
    }

    public static Change addLearner(long nodeId) {
        return new Change(Type.ADD_LEARNER, nodeId);
    }

    public static Change removeNode(long nodeId) {
        return new Change(Type.REMOVE_NODE, nodeId);
    }
}
