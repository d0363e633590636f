package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftError;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.sim.Network;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Log replication scenarios (6.824 lab 2B; Raft paper §5.3). */
class AgreementScenariosTest {

    @Test
    void basicAgreement() {
        Network net = new Network(5, 1);
        electLeader(net);
        for (int i = 1; i <= 5; i++) {
            long index = proposeOnLeader(net, "cmd" + i);
            awaitApplied(net, "cmd" + i);
            assertThat(index).isEqualTo(i + 1); // index 1 is the leader's no-op
        }
        for (Network.Peer p : net.peers()) {
            assertThat(p.appliedCommands()).containsExactly("cmd1", "cmd2", "cmd3", "cmd4", "cmd5");
        }
    }

    @Test
    void proposalOnAFollowerIsRejectedWithALeaderHint() {
        Network net = new Network(3, 2);
        long leader = electLeader(net);
        long follower = leader == 1 ? 2 : 1;
        ProposeResult r = net.propose(follower, "x");
        assertThat(r).isEqualTo(new Rejected(RaftError.NOT_LEADER, leader));
    }

    @Test
    void agreementWithAFailedFollower() {
        Network net = new Network(3, 3);
        long leader = electLeader(net);
        long down = leader % 3 + 1;
        net.isolate(down);
        proposeOnLeader(net, "a");
        long[] up = net.peers().stream().mapToLong(p -> p.id).filter(id -> id != down).toArray();
        awaitApplied(net, "a", up);
        net.recover();
        proposeOnLeader(net, "b");
        awaitApplied(net, "b");
        assertThat(net.peer(down).appliedCommands()).containsExactly("a", "b");
    }

    @Test
    void noAgreementWithoutAMajority() {
        Network net = new Network(5, 4, c -> c.withElection(true, false)); // keep the leader leading
        long leader = electLeader(net);
        proposeOnLeader(net, "before");
        awaitApplied(net, "before");
        long commit = net.core(leader).commitIndex();
        int cut = 0;
        for (long id = 1; id <= 5 && cut < 3; id++) {
            if (id != leader) {
                net.isolate(id);
                cut++;
            }
        }
        ProposeResult r = net.propose(leader, "lonely");
        assertThat(r).isInstanceOf(ProposeResult.Accepted.class);
        net.tickAll(50);
        assertThat(net.core(leader).commitIndex()).isEqualTo(commit);
        // Once the partition heals, the group makes progress again. "lonely" was never committed,
        // so a new leader from the former minority may legitimately overwrite it.
        net.recover();
        proposeOnLeader(net, "after");
        awaitApplied(net, "after");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void concurrentProposals() {
        Network net = new Network(3, 5);
        long leader = electLeader(net);
        // Many proposals before any Ready is handled: they are batched into few AppendEntries.
        for (int i = 0; i < 50; i++) {
            assertThat(net.core(leader).propose(("c" + i).getBytes())).isInstanceOf(ProposeResult.Accepted.class);
        }
        net.drain(net.peer(leader));
        net.tickAll(3);
        awaitApplied(net, "c49");
        for (Network.Peer p : net.peers()) {
            assertThat(p.appliedCommands()).hasSize(50).startsWith("c0", "c1").endsWith("c49");
        }
    }

    @Test
    void rejoinOfAPartitionedLeader() {
        Network net = new Network(3, 6);
        long leader1 = electLeader(net);
        proposeOnLeader(net, "101");
        awaitApplied(net, "101");
        net.isolate(leader1);
        // The old leader accepts proposals it can never commit.
        net.propose(leader1, "102");
        net.propose(leader1, "103");
        net.tickAll(40);
        long leader2 = net.leader();
        assertThat(leader2).isNotIn(0L, leader1);
        proposeOnLeader(net, "104");
        net.recover();
        awaitApplied(net, "104");
        assertThat(net.peer(leader1).appliedCommands()).containsExactly("101", "104");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void fastBackupOverLongDivergentLogs() {
        Network net = new Network(5, 7, c -> c.withElection(true, false));
        long leader1 = electLeader(net);
        proposeOnLeader(net, "start");
        awaitApplied(net, "start");
        long f1 = leader1 % 5 + 1;
        // Leader and one follower in a minority: 50 uncommitted entries.
        for (long id = 1; id <= 5; id++) {
            if (id != leader1 && id != f1) {
                net.cut(leader1, id);
                net.cut(f1, id);
            }
        }
        for (int i = 0; i < 50; i++) {
            net.propose(leader1, "lost" + i);
        }
        // The majority elects a new leader and commits 50 entries.
        net.isolate(leader1);
        net.isolate(f1);
        net.tickAll(40);
        long leader2 = net.leader();
        assertThat(leader2).isNotIn(0L, leader1, f1);
        for (int i = 0; i < 50; i++) {
            proposeOnLeader(net, "kept" + i);
        }
        awaitApplied(net, "kept49", java.util.Arrays.stream(new long[] {1, 2, 3, 4, 5})
                .filter(id -> id != leader1 && id != f1).toArray());
        // Heal: the stale pair must back up over 50+ conflicting entries quickly.
        net.recover();
        net.startTrace();
        proposeOnLeader(net, "end");
        awaitApplied(net, "end");
        long rejections = net.stopTrace().stream()
                .filter(m -> m instanceof Message.AppendEntriesResponse r && !r.success()).count();
        assertThat(rejections).as("rejections while backing up").isLessThanOrEqualTo(6);
        for (Network.Peer p : net.peers()) {
            assertThat(p.appliedCommands()).doesNotContain("lost0").contains("kept49", "end");
        }
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void boundedMessageCountInSteadyState() {
        Network net = new Network(3, 8);
        long leader = electLeader(net);
        proposeOnLeader(net, "warm");
        awaitApplied(net, "warm");
        long before = net.messagesDelivered();
        for (int i = 0; i < 10; i++) {
            proposeOnLeader(net, "c" + i);
        }
        awaitApplied(net, "c9");
        // Each proposal: one AppendEntries + one response per follower, plus the commit broadcast.
        long perAgreement = (net.messagesDelivered() - before) / 10;
        assertThat(perAgreement).isLessThanOrEqualTo(8);
        // Idle: exactly one heartbeat and one response per follower per heartbeat tick.
        before = net.messagesDelivered();
        net.tickAll(100);
        assertThat(net.messagesDelivered() - before).isEqualTo(100 * 2 * 2);
        assertThat(net.leader()).isEqualTo(leader);
    }

    @Test
    void unreliableAgreement() {
        Network net = new Network(5, 9);
        electLeader(net);
        net.dropAll(0.1);
        for (int i = 0; i < 30; i++) {
            proposeOnLeader(net, "u" + i);
            net.tickAll(1);
        }
        net.recover();
        awaitApplied(net, "u29");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void unreliableChurn() {
        Network net = new Network(5, 10);
        SplittableRandom random = new SplittableRandom(10);
        int proposed = 0;
        for (int round = 0; round < 60; round++) {
            net.dropAll(0.1);
            long victim = 1 + random.nextInt(5);
            switch (random.nextInt(4)) {
                case 0 -> net.crash(victim);
                case 1 -> net.isolate(victim);
                default -> { }
            }
            long leader = net.leader();
            if (leader != 0) {
                net.propose(leader, "churn" + proposed++);
            }
            net.tickAll(1 + random.nextInt(15));
            for (long id = 1; id <= 5; id++) {
                if (isDown(net, id) && random.nextBoolean()) {
                    net.restart(id);
                }
            }
            net.recover();
        }
        for (long id = 1; id <= 5; id++) {
            if (isDown(net, id)) {
                net.restart(id);
            }
        }
        proposeOnLeader(net, "final");
        awaitApplied(net, "final");
        assertAppliedPrefixesAgree(net);
        long agreed = net.peer(1).applied.size();
        for (Network.Peer p : net.peers()) {
            assertThat(p.applied.size()).isEqualTo(agreed);
        }
    }

    private static boolean isDown(Network net, long id) {
        return net.isDown(id);
    }
}
