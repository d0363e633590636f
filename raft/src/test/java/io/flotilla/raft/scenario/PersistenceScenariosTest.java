package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.HardState;
import io.flotilla.raft.sim.Network;
import org.junit.jupiter.api.Test;

/** Persistence scenarios (6.824 lab 2C): state survives crashes because it was forced before use. */
class PersistenceScenariosTest {

    @Test
    void persistenceAcrossFullRestarts() {
        Network net = new Network(3, 21);
        electLeader(net);
        proposeOnLeader(net, "one");
        awaitApplied(net, "one");
        long[] terms = new long[4];
        for (long id = 1; id <= 3; id++) {
            terms[(int) id] = net.core(id).term();
        }
        for (int round = 0; round < 3; round++) {
            for (long id = 1; id <= 3; id++) {
                net.crash(id);
            }
            for (long id = 1; id <= 3; id++) {
                net.restart(id);
                HardState hs = net.peer(id).storage.hardState();
                assertThat(net.core(id).term()).isEqualTo(hs.term()).isGreaterThanOrEqualTo(terms[(int) id]);
                assertThat(net.core(id).votedFor()).isEqualTo(hs.votedFor());
                // Committed entries are re-applied from the durable log after a restart.
                assertThat(net.core(id).commitIndex()).isEqualTo(hs.commitIndex());
            }
            proposeOnLeader(net, "after-restart-" + round);
            awaitApplied(net, "after-restart-" + round);
        }
        for (Network.Peer p : net.peers()) {
            assertThat(p.appliedCommands()).containsExactly("one", "after-restart-0", "after-restart-1", "after-restart-2");
        }
    }

    @Test
    void restartedLeaderRejoinsAndCatchesUp() {
        Network net = new Network(5, 22);
        long leader = electLeader(net);
        proposeOnLeader(net, "a");
        awaitApplied(net, "a");
        net.crash(leader);
        for (int i = 0; i < 20; i++) {
            proposeOnLeader(net, "b" + i);
        }
        net.restart(leader);
        awaitApplied(net, "b19");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void voteIsDurableBeforeTheVoteIsSent() {
        // A follower's vote is in the same Ready as its response, which is sent only after the sync.
        Network net = new Network(3, 23, c -> c.withElection(false, false));
        net.campaign(1);
        for (long id = 2; id <= 3; id++) {
            assertThat(net.peer(id).storage.durableHardState().votedFor()).isEqualTo(1);
            net.crash(id);
            net.restart(id);
            assertThat(net.core(id).votedFor()).isEqualTo(1);
            assertThat(net.core(id).term()).isEqualTo(net.core(1).term());
        }
    }

    @Test
    void crashBeforeSyncLosesOnlyUnacknowledgedEntries() {
        Network net = new Network(3, 24);
        long leader = electLeader(net);
        proposeOnLeader(net, "durable");
        awaitApplied(net, "durable");
        long follower = leader % 3 + 1;
        // The follower receives an entry but crashes before forcing it: the leader never got an ack.
        net.isolate(leader);
        net.recover();
        Network.Peer f = net.peer(follower);
        long lastBefore = f.storage.durableEntries().size();
        f.storage.append(java.util.List.of(new io.flotilla.raft.Entry(lastBefore + 1, 99, io.flotilla.raft.EntryType.NORMAL,
                "ghost".getBytes())));
        net.crash(follower);
        assertThat(f.storage.lastIndex()).isEqualTo(lastBefore);
        net.restart(follower);
        proposeOnLeader(net, "next");
        awaitApplied(net, "next");
        assertThat(f.appliedCommands()).containsExactly("durable", "next");
    }
}
