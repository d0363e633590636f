package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Message;
import io.flotilla.raft.RecoveryFence;
import io.flotilla.raft.Role;
import io.flotilla.raft.sim.Network;
import org.junit.jupiter.api.Test;

/**
 * Recovery after a cut (docs/raft.md): a node whose log lost a suffix it acknowledged must not
 * vote or campaign until a leader elected without it has given the entries back; without that
 * rule a stale node is elected and a committed entry is lost.
 */
class RecoveryScenariosTest {

    /** The roles of one run: the leader, the follower whose disk loses "b", the third node. */
    private record Cast(Network net, long leader, long cutNode, long other, long bIndex, long cutTerm) {}

    /**
     * "b" is committed by the leader and the cut node only (the third node is cut off), and the
     * cut node never learns that it committed. Then the leader and the cut node crash, the cut
     * node's disk loses "b" at recovery, and the cut node restarts (the leader stays down).
     */
    private static Cast commitOnTwoThenLoseItOnOne(long seed, boolean fence) {
        Network net = new Network(3, seed);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        long cutNode = leader % 3 + 1;
        long other = 6 - leader - cutNode;
        long bIndex = net.core(leader).log().lastIndex() + 1;
        net.cut(leader, other);
        // The cut node acknowledges b but hears of its commit only later (never, here).
        net.filter(m -> !(m.from() == leader && m.to() == cutNode && commitOf(m) >= bIndex));
        assertThat(proposeOnLeader(net, "b")).isEqualTo(bIndex);
        assertThat(net.core(leader).commitIndex()).as("b committed by leader + cut node").isEqualTo(bIndex);
        assertThat(net.peer(cutNode).storage.durableHardState().commitIndex()).isLessThan(bIndex);
        assertThat(net.peer(other).storage.lastIndex()).isLessThan(bIndex);
        long cutTerm = net.core(cutNode).term();

        net.crash(leader);
        net.crash(cutNode);
        assertThat(net.peer(cutNode).storage.loseForcedSuffix(bIndex, fence)).isEqualTo(1);
        net.recover();
        net.restart(cutNode);
        return new Cast(net, leader, cutNode, other, bIndex, cutTerm);
    }

    private static long commitOf(Message m) {
        if (m instanceof Message.AppendEntries ae) {
            return ae.leaderCommit();
        }
        return m instanceof Message.Heartbeat hb ? hb.commitIndex() : -1;
    }

    @Test
    void aNodeThatLostAnAcknowledgedSuffixGrantsNoVoteUntilANewerLeaderGaveItBack() {
        Cast c = commitOnTwoThenLoseItOnOne(41, true);
        Network net = c.net();
        RecoveryFence fence = net.core(c.cutNode()).hardState().fence();
        assertThat(fence).isEqualTo(new RecoveryFence(c.bIndex(), c.bIndex(), c.cutTerm()));
        // It moved past the cut's term at once, so no leader can keep counting its lost acknowledgement.
        assertThat(net.core(c.cutNode()).term()).isEqualTo(c.cutTerm() + 1);

        // The other survivor lacks b: it must not be elected, and the fenced node never campaigns.
        net.tickAll(200);
        assertThat(net.leader()).as("no leader without a vote that proves b survives").isZero();
        assertThat(net.core(c.cutNode()).role()).isEqualTo(Role.FOLLOWER);
        assertThat(net.core(c.cutNode()).votedFor()).isZero();
        assertThat(net.peer(c.cutNode()).storage.durableHardState().fence()).isEqualTo(fence);

        // A restart while fenced stays fenced (the fence is in the durable hard state).
        net.crash(c.cutNode());
        net.restart(c.cutNode());
        assertThat(net.core(c.cutNode()).hardState().fence()).isEqualTo(fence);

        // The old leader comes back: only it can win (the third node votes for its longer log).
        net.restart(c.leader());
        long leader = electLeader(net);
        assertThat(leader).isEqualTo(c.leader());
        awaitApplied(net, "b");
        assertThat(net.core(c.cutNode()).hardState().fence()).isEqualTo(RecoveryFence.NONE);
        assertThat(net.peer(c.cutNode()).storage.durableHardState().fence()).isEqualTo(RecoveryFence.NONE);

        // Caught up, it votes again: with the leader gone, it and the third node elect one of them.
        net.crash(leader);
        long next = electLeader(net);
        assertThat(next).isIn(c.cutNode(), c.other());
        proposeOnLeader(net, "c");
        awaitApplied(net, "c", c.cutNode(), c.other());
        net.restart(leader);
        awaitApplied(net, "c");
        assertThat(net.peer(c.leader()).appliedCommands()).containsExactly("a", "b", "c");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void aLeaderStillCountingTheLostAcknowledgementIsDeposedAndTheNodeCatchesUp() {
        // The leader stays up. Its match index for the cut node still says b: it would tell the
        // node to commit b (which the node no longer holds) and ignore the node's rejections as
        // stale. The node's move to a later term ends that leadership; a new one starts from
        // scratch and brings b back.
        Network net = new Network(3, 44);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        long cutNode = leader % 3 + 1;
        long bIndex = net.core(leader).log().lastIndex() + 1;
        net.filter(m -> !(m.from() == leader && m.to() == cutNode && commitOf(m) >= bIndex));
        proposeOnLeader(net, "b");
        assertThat(net.core(leader).progress(cutNode).matchIndex()).isEqualTo(bIndex);
        long term = net.core(leader).term();
        net.crash(cutNode);
        net.peer(cutNode).storage.loseForcedSuffix(bIndex, true);
        net.recover();
        net.restart(cutNode);

        awaitApplied(net, "b");
        assertThat(net.core(net.leader()).term()).isGreaterThan(term);
        assertThat(net.core(cutNode).hardState().fence()).isEqualTo(RecoveryFence.NONE);
        proposeOnLeader(net, "c");
        awaitApplied(net, "c");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void withoutTheFenceTheStaleNodeIsElectedAndACommittedEntryIsLost() {
        // The checker has teeth: the old, silent cut lets the cut node vote for the third node,
        // which lacks b; the new leader overwrites b, and the old leader, which applied b, stops.
        Cast c = commitOnTwoThenLoseItOnOne(41, false);
        Network net = c.net();
        assertThat(net.core(c.cutNode()).hardState().fence()).isEqualTo(RecoveryFence.NONE);
        long stale = electLeader(net);
        assertThat(stale).isIn(c.cutNode(), c.other());
        proposeOnLeader(net, "c");
        assertThat(net.peer(c.leader()).storage.durableHardState().commitIndex()).isGreaterThanOrEqualTo(c.bIndex());
        assertThatThrownBy(() -> {
            net.restart(c.leader());
            net.tickAll(50);
        }).isInstanceOf(InvariantViolation.class).hasMessageContaining("conflicts with committed prefix");
    }

    @Test
    void aCutOnTheOnlyVoterIsNotFenced() {
        // No other replica could give the entries back: refusing to run would save nothing.
        Network net = new Network(1, 43);
        electLeader(net);
        proposeOnLeader(net, "a");
        long last = net.core(1).log().lastIndex();
        net.peer(1).storage.append(java.util.List.of(new io.flotilla.raft.Entry(last + 1, net.core(1).term(),
                io.flotilla.raft.EntryType.NORMAL, "b".getBytes())));
        net.peer(1).storage.sync();
        net.crash(1);
        net.peer(1).storage.loseForcedSuffix(last + 1, true);
        net.restart(1);
        assertThat(net.core(1).hardState().fence()).isEqualTo(RecoveryFence.NONE);
        electLeader(net);
    }
}
