package io.flotilla.raft.scenario;

import static io.flotilla.raft.ConfChange.addLearner;
import static io.flotilla.raft.ConfChange.addVoter;
import static io.flotilla.raft.ConfChange.removeNode;
import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeError;
import io.flotilla.raft.ConfChangeResult;
import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.Role;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.sim.Network;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Membership changes: joint consensus (dissertation §4.3), learners, leader removal. */
class MembershipScenariosTest {

    /** Proposes on the current leader until accepted (a change still in flight is retried). */
    static ConfChangeResult.Accepted change(Network net, ConfChange.Change... changes) {
        for (int i = 0; i < 300; i++) {
            long leader = net.leader();
            if (leader != 0) {
                ConfChangeResult r = net.proposeConfChange(leader, ConfChange.of(changes));
                if (r instanceof ConfChangeResult.Accepted a) {
                    return a;
                }
                ConfChangeResult.Refused refused = (ConfChangeResult.Refused) r;
                assertThat(refused.error().retryable()).as("refused: %s", refused).isTrue();
            }
            net.tickAll(1);
        }
        throw new AssertionError("no leader accepted " + List.of(changes));
    }

    /** Ticks until every live node in {@code ids} has {@code expected} in effect. */
    static void awaitConfiguration(Network net, Configuration expected, long... ids) {
        for (int i = 0; i < 300; i++) {
            boolean all = true;
            for (long id : ids) {
                all &= net.isDown(id) || net.core(id).configuration().equals(expected);
            }
            if (all) {
                return;
            }
            net.tickAll(1);
        }
        for (long id : ids) {
            System.out.println(net.core(id) + " " + net.core(id).configuration() + " log " + net.core(id).log().lastIndex());
        }
        for (long id : ids) {
            assertThat(net.core(id).configuration()).as("node %d", id).isEqualTo(expected);
        }
    }

    static Configuration voters(Long... ids) {
        return new Configuration(Set.of(ids));
    }

    static Configuration votersAndLearners(Set<Long> voters, Set<Long> learners) {
        return new Configuration(voters, Set.of(), learners, Set.of());
    }

    static boolean isLeaveJoint(Message m) {
        return m instanceof Message.AppendEntries ae && ae.entries().stream()
                .anyMatch(e -> e.type() == EntryType.CONF_CHANGE && ConfEntry.decode(e.data()).leaveJoint());
    }

    @Test
    void addLearnerThenPromoteUnderLoad() {
        Network net = new Network(3, 101);
        electLeader(net);
        for (int i = 0; i < 20; i++) {
            proposeOnLeader(net, "before" + i);
        }
        net.addPeer(4);
        change(net, addLearner(4));
        Configuration withLearner = votersAndLearners(Set.of(1L, 2L, 3L), Set.of(4L));
        awaitConfiguration(net, withLearner, 1, 2, 3, 4);
        for (int i = 0; i < 20; i++) {
            proposeOnLeader(net, "learning" + i);
        }
        awaitApplied(net, "learning19", 4);
        assertThat(net.peer(4).appliedCommands()).contains("before0", "before19");
        assertThat(net.core(4).role()).isEqualTo(Role.FOLLOWER);

        ConfChangeResult.Accepted promote = change(net, addVoter(4));
        assertThat(promote.target().isJoint()).as("a voter change goes through a joint configuration").isTrue();
        proposeOnLeader(net, "during");
        awaitConfiguration(net, voters(1L, 2L, 3L, 4L), 1, 2, 3, 4);
        proposeOnLeader(net, "after");
        awaitApplied(net, "after");
        // The driver saw both the enter and the leave entry, in order, with the resulting configurations.
        List<Configuration> seen = net.peer(4).applied.stream().filter(e -> e.type() == EntryType.CONF_CHANGE)
                .map(e -> ConfEntry.decode(e.data()).configuration()).toList();
        assertThat(seen).containsExactly(withLearner,
                new Configuration(Set.of(1L, 2L, 3L, 4L), Set.of(1L, 2L, 3L), Set.of(), Set.of()),
                voters(1L, 2L, 3L, 4L));
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void removeFollower() {
        Network net = new Network(3, 102);
        long leader = electLeader(net);
        long follower = leader % 3 + 1;
        change(net, removeNode(follower));
        Long[] remaining = Set.of(1L, 2L, 3L).stream().filter(v -> v != follower).toArray(Long[]::new);
        awaitConfiguration(net, voters(remaining), leader);
        // Two voters left: both must agree, the removed node no longer counts.
        net.isolate(follower);
        proposeOnLeader(net, "two-voters");
        awaitApplied(net, "two-voters", remaining[0], remaining[1]);
        assertThat(net.peer(follower).appliedCommands()).doesNotContain("two-voters");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void removeLeaderStepsDownAndARemainingVoterLeads() {
        Network net = new Network(3, 103);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        change(net, removeNode(leader));
        for (int i = 0; i < 100 && (net.leader() == leader || net.leader() == 0); i++) {
            net.tickAll(1);
        }
        long next = net.leader();
        assertThat(next).isNotZero().isNotEqualTo(leader);
        assertThat(net.core(leader).role()).isEqualTo(Role.FOLLOWER);
        assertThat(net.core(leader).configuration().isVoter(leader)).isFalse();
        proposeOnLeader(net, "after-removal");
        long[] remaining = Set.of(1L, 2L, 3L).stream().filter(v -> v != leader).mapToLong(Long::longValue).toArray();
        awaitApplied(net, "after-removal", remaining);
        // The removed leader never campaigns again, however long it waits.
        long term = net.core(next).term();
        net.tickAll(100);
        assertThat(net.leader()).isEqualTo(next);
        assertThat(net.core(next).term()).isEqualTo(term);
        assertThat(net.core(leader).role()).isEqualTo(Role.FOLLOWER);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void replaceADeadNodeWithAFreshOne() {
        Network net = new Network(3, 104);
        long leader = electLeader(net);
        long dead = leader % 3 + 1;
        net.crash(dead);
        proposeOnLeader(net, "while-dead");
        net.addPeer(4);
        change(net, addLearner(4));
        awaitApplied(net, "while-dead", 4);
        change(net, addVoter(4), removeNode(dead));
        Long[] target = Set.of(1L, 2L, 3L, 4L).stream().filter(v -> v != dead).toArray(Long[]::new);
        awaitConfiguration(net, voters(target), 1, 2, 3, 4);
        // The new voter counts: with one more original voter down, the group still needs 2 of 3.
        long other = Set.of(1L, 2L, 3L).stream().filter(v -> v != dead && v != net.leader()).findFirst().orElseThrow();
        net.crash(other);
        proposeOnLeader(net, "replaced");
        awaitApplied(net, "replaced", 4);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void leaderCrashWhileJointAnotherLeaderLeavesTheJointConfiguration() {
        Network net = new Network(3, 105);
        long leader = electLeader(net);
        net.addPeer(4);
        change(net, addLearner(4));
        awaitConfiguration(net, votersAndLearners(Set.of(1L, 2L, 3L), Set.of(4L)), 1, 2, 3, 4);
        // The leader will enter the joint configuration but its leave entry never gets out.
        net.filter(m -> !isLeaveJoint(m));
        change(net, addVoter(4));
        Configuration joint = new Configuration(Set.of(1L, 2L, 3L, 4L), Set.of(1L, 2L, 3L), Set.of(), Set.of());
        awaitConfiguration(net, joint, 1, 2, 3, 4);
        net.crash(leader);
        net.recover();
        for (int i = 0; i < 200 && (net.leader() == 0 || net.leader() == leader); i++) {
            net.tickAll(1);
        }
        assertThat(net.leader()).isNotZero().isNotEqualTo(leader);
        long[] live = Set.of(1L, 2L, 3L, 4L).stream().filter(v -> v != leader).mapToLong(Long::longValue).toArray();
        awaitConfiguration(net, voters(1L, 2L, 3L, 4L), live);
        proposeOnLeader(net, "after-joint");
        awaitApplied(net, "after-joint", live);
        net.restart(leader);
        awaitConfiguration(net, voters(1L, 2L, 3L, 4L), 1, 2, 3, 4);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void confChangeOnAMinorityLeaderNeverTakesEffect() {
        Network net = new Network(5, 106);
        long leader = electLeader(net);
        long ally = leader % 5 + 1;
        // Partition {leader, ally} from the other three.
        for (long a : new long[] {leader, ally}) {
            for (long b = 1; b <= 5; b++) {
                if (b != leader && b != ally) {
                    net.cut(a, b);
                }
            }
        }
        long victim = Set.of(1L, 2L, 3L, 4L, 5L).stream().filter(v -> v != leader && v != ally).min(Long::compare)
                .orElseThrow();
        ConfChangeResult minority = net.proposeConfChange(leader, ConfChange.of(removeNode(victim)));
        assertThat(minority).isInstanceOf(ConfChangeResult.Accepted.class);
        net.tickAll(30); // the majority elects a leader; the old one loses check-quorum
        long majorityLeader = net.leader();
        assertThat(majorityLeader).isNotIn(leader, ally, 0L);
        assertThat(net.core(leader).configuration()).isEqualTo(voters(1L, 2L, 3L, 4L, 5L));
        // The majority removes the ally instead: C_new = the other four, three of them reachable.
        change(net, removeNode(ally));
        Long[] four = Set.of(1L, 2L, 3L, 4L, 5L).stream().filter(v -> v != ally).toArray(Long[]::new);
        awaitConfiguration(net, voters(four), majorityLeader);
        net.recover();
        awaitConfiguration(net, voters(four), leader, victim, majorityLeader);
        // The minority's change was truncated away: the victim is still a voter.
        assertThat(net.core(leader).configuration().isVoter(victim)).isTrue();
        proposeOnLeader(net, "healed");
        awaitApplied(net, "healed", leader, victim);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void learnerNeverCampaignsAndItsVoteNeverCounts() {
        Network net = new Network(2, 107);
        long leader = electLeader(net);
        long other = leader == 1 ? 2 : 1;
        net.addPeer(3);
        change(net, addLearner(3));
        awaitConfiguration(net, votersAndLearners(Set.of(1L, 2L), Set.of(3L)), 1, 2, 3);
        long term = net.core(3).term();
        // Alone, the learner never campaigns.
        net.isolate(3);
        net.tickAll(100);
        assertThat(net.core(3).role()).isEqualTo(Role.FOLLOWER);
        assertThat(net.core(3).term()).isEqualTo(term);
        net.recover();
        // With one of two voters down, the learner's support elects nobody: the leader loses
        // check-quorum (the learner's acks do not count) and cannot win again with its vote.
        net.crash(other);
        net.tickAll(100);
        assertThat(net.leader()).isZero();
        assertThat(net.core(3).role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void aRemovedNodeCannotDisruptTheCluster() {
        Network net = new Network(3, 108);
        long leader = electLeader(net);
        long removed = leader % 3 + 1;
        // The removed node never hears that its removal committed: it still believes it votes.
        net.filter(m -> m.to() != removed || !(m instanceof Message.AppendEntries || m instanceof Message.Heartbeat));
        change(net, removeNode(removed));
        long[] remaining = Set.of(1L, 2L, 3L).stream().filter(v -> v != removed).mapToLong(Long::longValue).toArray();
        Long[] remainingBoxed = Set.of(1L, 2L, 3L).stream().filter(v -> v != removed).toArray(Long[]::new);
        awaitConfiguration(net, voters(remainingBoxed), remaining);
        assertThat(net.core(removed).configuration().isVoter(removed)).isTrue();
        long term = net.core(leader).term();
        net.tickAll(200); // its election timer fires again and again
        assertThat(net.leader()).isEqualTo(leader);
        assertThat(net.core(leader).term()).isEqualTo(term);
        proposeOnLeader(net, "undisturbed");
        awaitApplied(net, "undisturbed", remaining);
    }

    @Test
    void refusesNonsenseAndASecondPendingChange() {
        Network net = new Network(3, 109);
        long leader = electLeader(net);
        assertThat(refusal(net, leader, ConfChange.of())).isEqualTo(ConfChangeError.EMPTY);
        assertThat(refusal(net, leader, ConfChange.of(addVoter(2)))).isEqualTo(ConfChangeError.ALREADY_VOTER);
        assertThat(refusal(net, leader, ConfChange.of(addVoter(9)))).isEqualTo(ConfChangeError.UNKNOWN_NODE);
        assertThat(refusal(net, leader, ConfChange.of(removeNode(9)))).isEqualTo(ConfChangeError.UNKNOWN_NODE);
        assertThat(refusal(net, leader, ConfChange.of(removeNode(1), removeNode(2), removeNode(3))))
                .isEqualTo(ConfChangeError.REMOVES_LAST_VOTER);
        long follower = leader % 3 + 1;
        assertThat(refusal(net, follower, ConfChange.of(addLearner(4)))).isEqualTo(ConfChangeError.NOT_LEADER);
        // Hold every AppendEntries so the first change stays uncommitted.
        net.filter(m -> !(m instanceof Message.AppendEntries));
        assertThat(net.proposeConfChange(leader, ConfChange.of(addLearner(4)))).isInstanceOf(ConfChangeResult.Accepted.class);
        ConfChangeError second = refusal(net, leader, ConfChange.of(addLearner(5)));
        assertThat(second).isEqualTo(ConfChangeError.CHANGE_PENDING);
        assertThat(second.retryable()).isTrue();
        assertThat(net.core(leader).confChangePending()).isTrue();
        net.recover();
        net.tickAll(3);
        assertThat(net.proposeConfChange(leader, ConfChange.of(addLearner(5)))).isInstanceOf(ConfChangeResult.Accepted.class);
        // Transfer to a learner is refused.
        net.tickAll(3);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> net.core(leader).transferLeadership(4))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static ConfChangeError refusal(Network net, long id, ConfChange change) {
        ConfChangeResult r = net.proposeConfChange(id, change);
        assertThat(r).isInstanceOf(ConfChangeResult.Refused.class);
        return ((ConfChangeResult.Refused) r).error();
    }

    @Test
    void restartInTheJointConfigurationAndAfterASnapshot() {
        Network net = new Network(3, 110);
        electLeader(net);
        net.addPeer(4);
        change(net, addLearner(4));
        awaitConfiguration(net, votersAndLearners(Set.of(1L, 2L, 3L), Set.of(4L)), 1, 2, 3, 4);
        net.filter(m -> !isLeaveJoint(m));
        long leader = net.leader();
        change(net, addVoter(4));
        Configuration joint = new Configuration(Set.of(1L, 2L, 3L, 4L), Set.of(1L, 2L, 3L), Set.of(), Set.of());
        awaitConfiguration(net, joint, 1, 2, 3, 4);
        // Everybody restarts from disk while joint: the configuration comes back from the log.
        for (long id = 1; id <= 4; id++) {
            net.crash(id);
        }
        for (long id = 1; id <= 4; id++) {
            net.restart(id);
            assertThat(net.core(id).configuration()).as("node %d after restart", id).isEqualTo(joint);
        }
        net.recover();
        awaitConfiguration(net, voters(1L, 2L, 3L, 4L), 1, 2, 3, 4);
        proposeOnLeader(net, "x");
        awaitApplied(net, "x");
        // Compact everywhere: the configuration now lives in the snapshots only.
        for (long id = 1; id <= 4; id++) {
            net.compact(id);
            assertThat(net.peer(id).storage.snapshot().configuration()).isEqualTo(voters(1L, 2L, 3L, 4L));
        }
        for (long id = 1; id <= 4; id++) {
            net.crash(id);
            net.restart(id);
            assertThat(net.core(id).configuration()).isEqualTo(voters(1L, 2L, 3L, 4L));
        }
        // A fresh node learns the configuration from the snapshot the leader sends it.
        electLeader(net);
        net.addPeer(5);
        change(net, addLearner(5));
        proposeOnLeader(net, "y");
        awaitApplied(net, "y", 5);
        assertThat(net.peer(5).snapshotsInstalled).isNotEmpty();
        assertThat(net.core(5).configuration()).isEqualTo(votersAndLearners(Set.of(1L, 2L, 3L, 4L), Set.of(5L)));
        assertThat(leader).isPositive();
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void aJoiningNodeWithoutConfigurationNeverCampaigns() {
        Network net = new Network(3, 111);
        electLeader(net);
        Network.Peer fresh = net.addPeer(4);
        net.isolate(4);
        net.tickAll(100);
        assertThat(fresh.core.configuration().isEmpty()).isTrue();
        assertThat(fresh.core.role()).isEqualTo(Role.FOLLOWER);
        assertThat(fresh.core.term()).isZero();
        List<Entry> none = fresh.applied;
        assertThat(none).isEmpty();
    }
}
