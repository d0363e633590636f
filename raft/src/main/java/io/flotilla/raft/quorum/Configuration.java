package io.flotilla.raft.quorum;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongUnaryOperator;

/**
 * The group's membership (etcd's ConfState) and the quorum arithmetic over it.
 *
 * <p>Outside a change, {@code outgoing} is empty and {@code voters} decide alone. While joint
 * (dissertation §4.3, C<sub>old,new</sub>), {@code voters} is C<sub>new</sub> and {@code outgoing}
 * C<sub>old</sub>, and every quorum question needs both halves to agree: the committed index is
 * the min of both majorities, an election is won only with a majority of each, check-quorum needs
 * a majority of each. An empty half never constrains.
 *
 * <p>{@code learners} receive the log but never count. {@code learnersNext} (etcd semantics) are
 * outgoing voters that become learners when the joint configuration is left: they still vote in
 * the outgoing half until then, so a node is never both a voter and a learner of the same half.
 *
 * <p>{@link #EMPTY} (no voters at all) is a node that has not learned any configuration yet: a
 * fresh node joining a group. It never campaigns.
 */
public record Configuration(Set<Long> voters, Set<Long> outgoing, Set<Long> learners, Set<Long> learnersNext) {

    public static final Configuration EMPTY = new Configuration(Set.of(), Set.of(), Set.of(), Set.of());

    public Configuration {
        voters = Set.copyOf(voters);
        outgoing = Set.copyOf(outgoing);
        learners = Set.copyOf(learners);
        learnersNext = Set.copyOf(learnersNext);
        for (long l : learners) {
            if (voters.contains(l) || outgoing.contains(l)) {
                throw new IllegalArgumentException("node " + l + " is both a voter and a learner");
            }
        }
        for (long l : learnersNext) {
            if (!outgoing.contains(l) || voters.contains(l)) {
                throw new IllegalArgumentException("learnerNext " + l + " must be an outgoing voter only");
            }
        }
        if (voters.isEmpty() && !(outgoing.isEmpty() && learners.isEmpty())) {
            throw new IllegalArgumentException("a configuration with members needs at least one voter");
        }
    }

    /** A plain (non-joint) configuration of voters only. */
    public Configuration(Set<Long> voters) {
        this(voters, Set.of(), Set.of(), Set.of());
    }

    public boolean isEmpty() {
        return voters.isEmpty();
    }

    public boolean isJoint() {
        return !outgoing.isEmpty();
    }

    /** A voter in either half. */
    public boolean isVoter(long id) {
        return voters.contains(id) || outgoing.contains(id);
    }

    public boolean isLearner(long id) {
        return learners.contains(id);
    }

    /** Voter of either half or learner: the leader replicates to it. */
    public boolean isMember(long id) {
        return isVoter(id) || learners.contains(id);
    }

    /** Every voter of both halves, sorted. */
    public Set<Long> allVoters() {
        Set<Long> all = new TreeSet<>(voters);
        all.addAll(outgoing);
        return all;
    }

    /** Every node the leader replicates to (voters of both halves and learners), sorted. */
    public Set<Long> members() {
        Set<Long> all = allVoters();
        all.addAll(learners);
        return all;
    }

    /** The largest index replicated on a quorum: the min over both halves (§4.3). */
    public long committedIndex(LongUnaryOperator matchIndexOf) {
        long incoming = QuorumMath.committedIndex(voters, matchIndexOf);
        long old = QuorumMath.committedIndex(outgoing, matchIndexOf);
        long index = Math.min(incoming, old);
        // Both halves empty (an EMPTY configuration) commits nothing.
        return index == Long.MAX_VALUE ? 0 : index;
    }

    /** An election needs a majority of both halves: lost if either half is lost. */
    public QuorumMath.VoteResult voteResult(Map<Long, Boolean> votes) {
        if (voters.isEmpty()) {
            return QuorumMath.VoteResult.LOST;
        }
        QuorumMath.VoteResult in = QuorumMath.voteResult(voters, votes);
        QuorumMath.VoteResult out = outgoing.isEmpty() ? QuorumMath.VoteResult.WON
                : QuorumMath.voteResult(outgoing, votes);
        if (in == QuorumMath.VoteResult.LOST || out == QuorumMath.VoteResult.LOST) {
            return QuorumMath.VoteResult.LOST;
        }
        if (in == QuorumMath.VoteResult.WON && out == QuorumMath.VoteResult.WON) {
            return QuorumMath.VoteResult.WON;
        }
        return QuorumMath.VoteResult.PENDING;
    }

    /** Whether {@code active} holds a majority of both halves. */
    public boolean isQuorum(Set<Long> active) {
        return !voters.isEmpty() && QuorumMath.isQuorum(voters, active)
                && (outgoing.isEmpty() || QuorumMath.isQuorum(outgoing, active));
    }

    @Override
    public String toString() {
        String s = "voters=" + new TreeSet<>(voters);
        if (isJoint()) {
            s += "&" + new TreeSet<>(outgoing);
        }
        if (!learners.isEmpty()) {
            s += " learners=" + new TreeSet<>(learners);
        }
        if (!learnersNext.isEmpty()) {
            s += " learnersNext=" + new TreeSet<>(learnersNext);
        }
        return s;
    }
}
