package io.flotilla.raft.confchange;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeError;
import io.flotilla.raft.quorum.Configuration;
import java.util.HashSet;
import java.util.Set;

/**
 * Computes the configuration a {@link ConfChange} leads to (etcd's confchange.Changer, rewritten):
 * pure set arithmetic and validation, no protocol state.
 *
 * <p>Policy: every change of the voter set goes through a joint configuration, even a single
 * added or removed voter. One path is easier to get right than two, and it avoids the subtle
 * single-server-change bug (dissertation §4.1 / the 2015 raft-dev errata) by construction; the
 * cost is one extra entry per change. Learner-only changes do not touch any quorum and apply
 * directly. Promotion requires the node to be a learner already (§4.2.1: new servers catch up
 * without counting), so ADD_VOTER of an unknown node is refused.
 */
public final class Changer {

    private Changer() {}

    /** The result of a change: a configuration or why it is refused. */
    public record Outcome(Configuration configuration, ConfChangeError error, String detail) {
        static Outcome ok(Configuration c) {
            return new Outcome(c, null, null);
        }

        static Outcome refused(ConfChangeError e, String detail) {
            return new Outcome(null, e, detail);
        }

        public boolean ok() {
            return error == null;
        }
    }

    /** Applies {@code change} to the non-joint {@code current}. */
    public static Outcome apply(Configuration current, ConfChange change) {
        if (current.isJoint()) {
            return Outcome.refused(ConfChangeError.CHANGE_PENDING, "still in joint configuration " + current);
        }
        if (change.changes().isEmpty()) {
            return Outcome.refused(ConfChangeError.EMPTY, "no changes");
        }
        Set<Long> voters = new HashSet<>(current.voters());
        Set<Long> learners = new HashSet<>(current.learners());
        Set<Long> demoted = new HashSet<>();
        for (ConfChange.Change c : change.changes()) {
            long id = c.nodeId();
            if (id <= 0) {
                return Outcome.refused(ConfChangeError.INVALID_NODE, "node id " + id);
            }
            switch (c.type()) {
                case ADD_VOTER -> {
                    if (voters.contains(id)) {
                        return Outcome.refused(ConfChangeError.ALREADY_VOTER, "node " + id + " already votes");
                    }
                    if (!learners.contains(id)) {
                        return Outcome.refused(ConfChangeError.UNKNOWN_NODE,
                                "node " + id + " is not a learner; add it as a learner first");
                    }
                    learners.remove(id);
                    demoted.remove(id);
                    voters.add(id);
                }
                case ADD_LEARNER -> {
                    if (learners.contains(id)) {
                        return Outcome.refused(ConfChangeError.ALREADY_LEARNER, "node " + id + " already is a learner");
                    }
                    if (voters.remove(id) && current.voters().contains(id)) {
                        demoted.add(id); // keeps voting in the outgoing half until the joint config is left
                    } else {
                        learners.add(id);
                    }
                }
                case REMOVE_NODE -> {
                    boolean known = voters.remove(id) | learners.remove(id) | demoted.remove(id);
                    if (!known) {
                        return Outcome.refused(ConfChangeError.UNKNOWN_NODE, "node " + id + " is not a member");
                    }
                }
            }
        }
        if (voters.isEmpty()) {
            return Outcome.refused(ConfChangeError.REMOVES_LAST_VOTER, "no voter would remain");
        }
        if (voters.equals(current.voters())) {
            // Learners only: no quorum changes, so no joint configuration is needed.
            learners.addAll(demoted);
            return Outcome.ok(new Configuration(voters, Set.of(), learners, Set.of()));
        }
        return Outcome.ok(new Configuration(voters, current.voters(), learners, demoted));
    }

    /** The configuration after leaving the joint {@code current}: C_new, demoted voters now learners. */
    public static Configuration leaveJoint(Configuration current) {
        if (!current.isJoint()) {
            throw new IllegalArgumentException("not joint: " + current);
        }
        Set<Long> learners = new HashSet<>(current.learners());
        learners.addAll(current.learnersNext());
        return new Configuration(current.voters(), Set.of(), learners, Set.of());
    }
}
