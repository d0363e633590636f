package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Role;
import io.flotilla.raft.sim.Network;
import org.junit.jupiter.api.Test;

/**
 * Quiescence (RaftConfig.quiesce): an idle group stops its heartbeats and election timers, so a
 * node can host many idle groups for nothing, and wakes on any proposal, read or message; a dead
 * follower does not keep it awake; followers whose leader's node is unreachable wake and elect.
 */
class QuiescenceScenariosTest {

    private static Network quiescing(long seed) {
        return new Network(3, seed, c -> c.withQuiesce(true));
    }

    @Test
    void anIdleGroupFallsSilentAndAProposalWakesIt() {
        Network net = quiescing(71);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        net.tickAll(3);
        for (Network.Peer p : net.peers()) {
            assertThat(p.core.isQuiesced()).as("node %d quiesced", p.id).isTrue();
        }
        long before = net.messagesDelivered();
        net.tickAll(200); // twenty election timeouts: no heartbeat, no election
        assertThat(net.messagesDelivered()).isEqualTo(before);
        assertThat(net.leader()).isEqualTo(leader);

        proposeOnLeader(net, "b");
        awaitApplied(net, "b");
        assertThat(net.core(leader).isQuiesced()).isFalse();
        net.tickAll(3);
        assertThat(net.core(leader).isQuiesced()).as("idle again").isTrue();
    }

    @Test
    void aDeadFollowerDoesNotKeepTheGroupAwake() {
        Network net = quiescing(72);
        long leader = electLeader(net);
        long dead = leader % 3 + 1;
        long live = dead % 3 + 1 == leader ? leader % 3 + 1 : dead % 3 + 1;
        net.crash(dead);
        proposeOnLeader(net, "a");
        net.tickAll(30);
        assertThat(net.core(leader).isQuiesced()).as("a follower behind and not known dead").isFalse();
        // The transport reports its node unreachable: it no longer keeps the group awake.
        net.core(leader).peerUnreachable(dead);
        net.core(live).peerUnreachable(dead);
        net.tickAll(3);
        assertThat(net.core(leader).isQuiesced()).isTrue();
        assertThat(net.core(live).isQuiesced()).isTrue();
        // It comes back: the transport says so, the leader wakes and catches it up.
        net.restart(dead);
        net.core(leader).peerReachable(dead);
        net.tickAll(40);
        assertThat(net.core(dead).log().lastIndex()).isEqualTo(net.core(leader).log().lastIndex());
        assertThat(net.leader()).isEqualTo(leader);
    }

    @Test
    void followersOfAnUnreachableLeaderWakeAndElectAnother() {
        Network net = quiescing(73);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        net.tickAll(3);
        net.crash(leader);
        net.tickAll(100);
        for (Network.Peer p : net.peers()) {
            if (p.id != leader) {
                assertThat(p.core.role()).as("a quiesced follower does not campaign on its own").isEqualTo(Role.FOLLOWER);
                assertThat(p.core.isQuiesced()).isTrue();
            }
        }
        // The transport tells them the leader's node went silent.
        for (Network.Peer p : net.peers()) {
            if (p.id != leader) {
                p.core.peerUnreachable(leader);
            }
        }
        net.tickAll(40);
        long next = net.leader();
        assertThat(next).isNotZero().isNotEqualTo(leader);
        proposeOnLeader(net, "b");
        for (Network.Peer p : net.peers()) {
            if (p.id != leader) {
                assertThat(p.appliedCommands()).contains("a", "b");
            }
        }
    }

    @Test
    void aQuiescedLeadersLeaseRunsOutWithTheClock() {
        Network net = new Network(3, 74, c -> c.withQuiesce(true).withLeaseRead(2));
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        net.tickAll(1);
        net.tickAll(3);
        assertThat(net.core(leader).isQuiesced()).isTrue();
        // No heartbeat is acknowledged while quiesced, and the leader's ticks still count: after
        // an election timeout its lease is gone, so a read must confirm leadership afresh.
        net.tickAll(20);
        assertThat(net.core(leader).hasReadLease()).isFalse();
    }

    @Test
    void aFollowerBehindTheLeaderIsCaughtUpBeforeTheGroupQuiesces() {
        Network net = quiescing(75);
        long leader = electLeader(net);
        long lagging = leader % 3 + 1;
        net.cut(leader, lagging);
        for (int i = 0; i < 10; i++) {
            proposeOnLeader(net, "x" + i);
        }
        net.tickAll(5);
        assertThat(net.core(leader).isQuiesced()).as("a live follower is behind").isFalse();
        net.recover();
        net.tickAll(10);
        assertThat(net.core(lagging).log().lastIndex()).isEqualTo(net.core(leader).log().lastIndex());
        assertThat(net.core(leader).isQuiesced()).isTrue();
        assertThat(net.core(lagging).isQuiesced()).isTrue();
    }
}
