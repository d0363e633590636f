package io.flotilla.raft.sim;

import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import java.util.Arrays;
import io.flotilla.raft.log.RaftLog;
import io.flotilla.raft.quorum.QuorumMath;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Raft's safety properties (paper Figure 3) checked against the whole simulated cluster. Each
 * failed check throws {@link SafetyViolation} naming the property.
 *
 * <p>Snapshot-aware: entries compacted into a node's snapshot are no longer in its log, so the log
 * checks compare only the indexes a log still holds (and the snapshot's (index, term) itself);
 * what a snapshot covers is checked through its state instead: every snapshot taken or installed
 * at an index must carry the same state as every other one at that index, and its (index, term)
 * must be the committed entry's.
 */
final class ClusterInvariants {

    static final class SafetyViolation extends RuntimeException {
        SafetyViolation(String property, String detail) {
            super(property + ": " + detail);
        }
    }

    /** Term → the node that led it (Election Safety). */
    private final Map<Long, Long> leaderByTerm = new HashMap<>();
    /** The committed log as observed anywhere: entry i at position i - 1. */
    private final List<Entry> committed = new ArrayList<>();
    /**
     * For each committed entry, the term of the node that first reported it committed: an upper
     * bound of the term in which it was really committed.
     */
    private final List<Long> commitTerms = new ArrayList<>();
    /** Committed configuration entries: index → the configuration it results in. */
    private final java.util.TreeMap<Long, Configuration> configurations = new java.util.TreeMap<>();
    /** Snapshot index → the state machine bytes first seen for it (taken or installed anywhere). */
    private final Map<Long, byte[]> snapshotStates = new HashMap<>();

    List<Entry> committed() {
        return committed;
    }

    int leadersSeen() {
        return leaderByTerm.size();
    }

    /** After node {@code n} handled an event and its Ready. */
    void afterStep(SimNode n) {
        RaftCore core = n.core;
        // Commit index never decreases during a lifetime.
        if (core.commitIndex() < n.lastCommitSeen) {
            throw new SafetyViolation("MonotonicCommit", "node " + n.id + " commit " + core.commitIndex()
                    + " < " + n.lastCommitSeen);
        }
        n.lastCommitSeen = core.commitIndex();
        // Durable term and commit never go back, across crashes too.
        HardState durable = n.storage.durableHardState();
        if (durable.term() < n.maxDurableTerm || durable.commitIndex() < n.maxDurableCommit) {
            throw new SafetyViolation("MonotonicDurableState", "node " + n.id + " durable " + durable
                    + " after term " + n.maxDurableTerm + " commit " + n.maxDurableCommit);
        }
        n.maxDurableTerm = durable.term();
        n.maxDurableCommit = durable.commitIndex();

        if (core.role() == Role.LEADER) {
            Long previous = leaderByTerm.putIfAbsent(core.term(), n.id);
            if (previous != null && previous != n.id) {
                throw new SafetyViolation("ElectionSafety", "nodes " + previous + " and " + n.id
                        + " both led term " + core.term());
            }
            if (previous == null) {
                checkLeaderCompleteness(n);
            }
        }
        // Every newly committed entry agrees with what everyone else committed at that index.
        RaftLog log = core.log();
        // Entries below firstIndex were compacted (or replaced by an installed snapshot, checked in
        // onSnapshot): only what the log still holds can be compared.
        for (long i = Math.max(n.checkedCommit + 1, log.firstIndex()); i <= core.commitIndex(); i++) {
            Entry e = log.slice(i, i + 1, Long.MAX_VALUE).get(0);
            if (i <= committed.size()) {
                Entry c = committed.get((int) i - 1);
                if (!c.equals(e)) {
                    throw new SafetyViolation("StateMachineSafety", "node " + n.id + " committed " + e
                            + " but " + c + " was committed at " + i);
                }
            } else {
                committed.add(e);
                commitTerms.add(core.term());
                if (e.type() == EntryType.CONF_CHANGE) {
                    configurations.put(e.index(), ConfEntry.decode(e.data()).configuration());
                }
            }
        }
        n.checkedCommit = Math.max(n.checkedCommit, core.commitIndex());
        checkConfiguration(n);
    }

    /**
     * ConfigurationAgreement: a node's configuration in effect is the one of the last configuration
     * entry committed at or below its commit index (configurations take effect at commit), or its
     * bootstrap. Together with ElectionSafety (one leader per term, whatever configuration each
     * candidate counted with) this is config safety.
     */
    private void checkConfiguration(SimNode n) {
        var floor = configurations.floorEntry(n.core.commitIndex());
        if (floor == null && n.bootstrap.isEmpty()) {
            // A joining node before its first committed configuration entry: none yet, or the
            // bootstrap configuration a snapshot carried (of which it is not a member).
            Configuration c = n.core.configuration();
            if (!c.isEmpty() && (c.isJoint() || c.isMember(n.id))) {
                throw new SafetyViolation("ConfigurationAgreement", "joining node " + n.id + " uses " + c
                        + " before any configuration entry committed");
            }
            return;
        }
        Configuration expected = floor != null ? floor.getValue()
                : n.bootstrap.isEmpty() ? Configuration.EMPTY : new Configuration(n.bootstrap);
        if (!n.core.configuration().equals(expected)) {
            throw new SafetyViolation("ConfigurationAgreement", "node " + n.id + " at commit " + n.core.commitIndex()
                    + " uses " + n.core.configuration() + " but the committed configuration is " + expected);
        }
        if (n.core.role() == Role.LEADER && !expected.isVoter(n.id)) {
            throw new SafetyViolation("ConfigurationAgreement", "node " + n.id + " leads term " + n.core.term()
                    + " without being a voter of " + expected);
        }
    }

    /**
     * A snapshot taken or installed by {@code n}: its (index, term) is the committed entry's, and its
     * state equals every other snapshot's at the same index (State Machine Safety for what logs
     * no longer show).
     */
    void onSnapshot(SimNode n, Snapshot s) {
        if (s.index() > committed.size() || committed.get((int) s.index() - 1).term() != s.term()) {
            throw new SafetyViolation("SnapshotCommitted", "node " + n.id + " has " + s
                    + " which is not at a committed entry (" + committed.size() + " known committed)");
        }
        byte[] previous = snapshotStates.putIfAbsent(s.index(), s.data());
        if (previous != null && !Arrays.equals(previous, s.data())) {
            throw new SafetyViolation("StateMachineSafety", "node " + n.id + "'s snapshot at " + s.index()
                    + " differs from an earlier snapshot at that index");
        }
    }

    /** An applied entry must be the committed entry at its index. */
    void onApply(SimNode n, Entry e) {
        if (e.index() > committed.size() || !committed.get((int) e.index() - 1).equals(e)) {
            throw new SafetyViolation("StateMachineSafety", "node " + n.id + " applied " + e
                    + " which is not the committed entry at its index");
        }
    }

    /**
     * Leader Completeness (§5.4): the leader of term T holds every entry committed in a term before
     * T. (A leader of an old term can be elected late, after a newer leader committed entries it
     * lacks: that is allowed, it can no longer commit anything.)
     */
    private void checkLeaderCompleteness(SimNode n) {
        RaftLog log = n.core.log();
        long term = n.core.term();
        for (int i = 1; i <= committed.size(); i++) {
            if (commitTerms.get(i - 1) >= term || log.isCompacted(i)) {
                continue; // a compacted entry is in the leader's snapshot, checked by onSnapshot
            }
            if (i > log.lastIndex() || log.term(i) != committed.get(i - 1).term()) {
                throw new SafetyViolation("LeaderCompleteness", "leader " + n.id + " of term " + term
                        + " lacks " + committed.get(i - 1) + " committed by term " + commitTerms.get(i - 1));
            }
        }
    }

    /** Expensive checks, run periodically: Log Matching and durability of committed entries. */
    void periodic(List<SimNode> nodes, int minVoters) {
        List<SimNode> up = new ArrayList<>();
        for (SimNode n : nodes) {
            if (n.core != null) {
                up.add(n);
            }
        }
        for (int a = 0; a < up.size(); a++) {
            for (int b = a + 1; b < up.size(); b++) {
                checkLogMatching(up.get(a), up.get(b));
            }
        }
        // A committed entry is durable on a majority: no crash pattern may lose it. A disk that lost
        // it (a recovery cut) counts only while its durable recovery fence covers it: such a node
        // votes for no one, so it still keeps every leader without the entry from being elected.
        for (int i = 1; i <= committed.size(); i++) {
            Entry c = committed.get(i - 1);
            int holders = 0;
            for (SimNode n : nodes) {
                Snapshot snap = n.storage.durableSnapshot();
                List<Entry> durable = n.storage.durableEntries();
                long pos = i - snap.index() - 1; // position in durable
                var fence = n.storage.durableHardState().fence();
                if (i <= snap.index() || (pos < durable.size() && durable.get((int) pos).equals(c))
                        || (fence.isUp() && fence.fromIndex() <= i)) {
                    holders++; // (a durable snapshot covering i holds it: its state is checked by onSnapshot)
                }
            }
            // Without membership changes every node is a voter; with them, the smallest configuration
            // a run may shrink to bounds what a quorum is.
            if (holders < QuorumMath.majority(minVoters)) {
                throw new SafetyViolation("CommittedEntriesDurable", "committed " + c + " is durable on only "
                        + holders + " of " + nodes.size() + " nodes");
            }
        }
    }

    /** If two logs hold an entry with the same index and term, they are identical up to it (§5.3). */
    private static void checkLogMatching(SimNode a, SimNode b) {
        RaftLog la = a.core.log();
        RaftLog lb = b.core.log();
        long last = Math.min(la.lastIndex(), lb.lastIndex());
        // Only indexes both logs still hold (from the later snapshot point on) can be compared.
        long lowest = Math.max(la.firstIndex(), lb.firstIndex()) - 1;
        // Find the highest index with the same term; everything before must be equal.
        long highestSame = 0;
        for (long i = last; i >= Math.max(1, lowest); i--) {
            if (la.term(i) == lb.term(i)) {
                highestSame = i;
                break;
            }
        }
        if (highestSame <= lowest) {
            return;
        }
        List<Entry> ea = la.slice(lowest + 1, highestSame + 1, Long.MAX_VALUE);
        List<Entry> eb = lb.slice(lowest + 1, highestSame + 1, Long.MAX_VALUE);
        long count = highestSame - lowest;
        if (ea.size() != count || eb.size() != count) {
            throw new AssertionError("slice returned a partial log");
        }
        if (lowest >= 1 && la.term(lowest) != lb.term(lowest)) {
            throw new SafetyViolation("LogMatching", "nodes " + a.id + " and " + b.id + " agree at "
                    + highestSame + " but differ at " + lowest);
        }
        for (int i = 0; i < count; i++) {
            if (!ea.get(i).equals(eb.get(i))) {
                throw new SafetyViolation("LogMatching", "nodes " + a.id + " and " + b.id + " agree at "
                        + highestSame + " but differ at " + (lowest + 1 + i) + ": " + ea.get(i) + " vs " + eb.get(i));
            }
        }
    }
}
