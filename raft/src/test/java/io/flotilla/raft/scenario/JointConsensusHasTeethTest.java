package io.flotilla.raft.scenario;

import static io.flotilla.raft.ConfChange.addLearner;
import static io.flotilla.raft.ConfChange.addVoter;
import static io.flotilla.raft.ConfChange.removeNode;
import static io.flotilla.raft.scenario.MembershipScenariosTest.awaitConfiguration;
import static io.flotilla.raft.scenario.MembershipScenariosTest.change;
import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeResult;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.TestSeams;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.sim.Network;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Joint consensus is what makes replacing a majority safe: the same scripted partition that is
 * harmless with it makes two disjoint majorities commit different entries at one index when the
 * leader switches voter sets in one step ({@link TestSeams#skipJointConsensus}).
 *
 * <p>Script: voters {L, a, b}, caught-up learners 4 and 5; L proposes "voters = {L, 4, 5}". b hears
 * nothing, a gets the entry but never learns it committed. Then the group splits {L, 4, 5} | {a, b}.
 * Without joint consensus L commits the change with a alone (a majority of C_old) and then commits
 * new writes with 4 and 5 (C_new), while a, still in C_old, is elected by b and commits its no-op
 * at the same index.
 */
class JointConsensusHasTeethTest {

    /** Runs the script; returns the index where L and a applied different entries, or 0. */
    private static long conflictingIndex(boolean skipJoint, boolean healAfterwards) {
        Network net = new Network(3, 121);
        long leader = electLeader(net);
        long a = leader % 3 + 1;
        long b = a % 3 + 1;
        net.addPeer(4);
        net.addPeer(5);
        change(net, addLearner(4), addLearner(5));
        awaitConfiguration(net, new Configuration(Set.of(1L, 2L, 3L), Set.of(), Set.of(4L, 5L), Set.of()), 1, 2, 3, 4, 5);
        proposeOnLeader(net, "before");
        awaitApplied(net, "before");
        if (skipJoint) {
            TestSeams.skipJointConsensus(net.core(leader));
        }
        long k = net.core(leader).log().lastIndex() + 1;
        net.isolate(b);
        net.filter(m -> !(m.from() == leader && m.to() == a && (m instanceof Message.Heartbeat
                || (m instanceof Message.AppendEntries ae && ae.leaderCommit() >= k))));
        ConfChangeResult r = net.proposeConfChange(leader,
                ConfChange.of(addVoter(4), addVoter(5), removeNode(a), removeNode(b)));
        assertThat(r).isInstanceOf(ConfChangeResult.Accepted.class);
        assertThat(net.core(a).log().lastIndex()).isGreaterThanOrEqualTo(k);
        assertThat(net.core(a).commitIndex()).isLessThan(k);

        net.recover();
        for (long x : new long[] {leader, 4, 5}) {
            net.cut(x, a);
            net.cut(x, b);
        }
        net.propose(leader, "w-new");
        for (int i = 0; i < 5; i++) {
            for (long x : new long[] {leader, 4, 5}) {
                net.tick(x);
            }
        }
        for (int i = 0; i < 200 && net.core(a).commitIndex() <= k; i++) {
            net.tick(a);
            net.tick(b);
        }
        long conflict = 0;
        for (Entry ea : net.peer(a).applied) {
            for (Entry el : net.peer(leader).applied) {
                if (ea.index() == el.index() && !ea.equals(el)) {
                    conflict = ea.index();
                }
            }
        }
        if (healAfterwards) {
            net.recover();
            proposeOnLeader(net, "healed");
            awaitApplied(net, "healed", leader, 4, 5);
            assertAppliedPrefixesAgree(net);
        }
        return conflict;
    }

    @Test
    void switchingVoterSetsWithoutJointConsensusLosesCommittedEntries() {
        assertThat(conflictingIndex(true, false)).as("two majorities committed different entries").isPositive();
    }

    @Test
    void theSameScriptIsSafeWithJointConsensus() {
        assertThat(conflictingIndex(false, true)).isZero();
    }
}
