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
import io.flotilla.raft.Role;
import io.flotilla.raft.sim.Network;
import org.junit.jupiter.api.Test;

/** Leadership transfer (dissertation §3.10). */
class TransferScenariosTest {

    @Test
    void transferToACaughtUpFollower() {
        Network net = new Network(3, 41);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        long target = leader % 3 + 1;
        long term = net.core(leader).term();
        assertThat(net.core(leader).transferLeadership(target)).isEmpty();
        net.drain(net.peer(leader));
        net.tickAll(1);
        assertThat(net.leader()).isEqualTo(target);
        assertThat(net.core(target).term()).isEqualTo(term + 1);
        assertThat(net.core(leader).role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void transferUnderLoadWaitsForTheTargetToCatchUpAndRefusesProposals() {
        Network net = new Network(3, 42);
        long leader = electLeader(net);
        long target = leader % 3 + 1;
        // The target lags behind by many entries.
        net.cut(leader, target);
        for (int i = 0; i < 30; i++) {
            proposeOnLeader(net, "load" + i);
        }
        net.recover();
        // Hold the target's acks so the transfer stays pending for a moment.
        net.filter(m -> !(m instanceof Message.AppendEntriesResponse && m.from() == target));
        assertThat(net.core(leader).transferLeadership(target)).isEmpty();
        net.drain(net.peer(leader));
        assertThat(net.propose(leader, "refused")).isEqualTo(new Rejected(RaftError.TRANSFER_IN_PROGRESS, leader));
        assertThat(net.leader()).isEqualTo(leader);
        net.recover();
        net.tickAll(3);
        assertThat(net.leader()).isEqualTo(target);
        proposeOnLeader(net, "after");
        awaitApplied(net, "after");
        for (Network.Peer p : net.peers()) {
            assertThat(p.appliedCommands()).contains("load29", "after").doesNotContain("refused");
        }
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void transferIsAbortedAfterAnElectionTimeout() {
        Network net = new Network(3, 43);
        long leader = electLeader(net);
        long target = leader % 3 + 1;
        net.isolate(target);
        net.cut(leader, target);
        assertThat(net.core(leader).transferLeadership(target)).isEmpty();
        net.drain(net.peer(leader));
        assertThat(net.core(leader).leadTransferee()).isEqualTo(target);
        net.tick(leader);
        assertThat(net.propose(leader, "x")).isInstanceOf(Rejected.class);
        for (int i = 0; i < 10; i++) {
            net.tick(leader);
        }
        assertThat(net.core(leader).leadTransferee()).isZero();
        assertThat(net.core(leader).role()).isEqualTo(Role.LEADER); // the third node keeps its quorum
        assertThat(net.propose(leader, "y")).isInstanceOf(ProposeResult.Accepted.class);
    }

    @Test
    void transferOnAFollowerIsRejected() {
        Network net = new Network(3, 44);
        long leader = electLeader(net);
        long follower = leader % 3 + 1;
        assertThat(net.core(follower).transferLeadership(leader))
                .contains(new Rejected(RaftError.NOT_LEADER, leader));
    }
}
