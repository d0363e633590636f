package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Failure;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftError;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.sim.Network;
import org.junit.jupiter.api.Test;

/** ReadIndex (dissertation §6.4): leader reads, batching, follower reads, and their failure modes. */
class ReadScenariosTest {

    @Test
    void leaderReadIndexConfirmsLeadershipWithOneHeartbeatRound() {
        Network net = new Network(3, 31);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        long commit = net.core(leader).commitIndex();
        net.startTrace();
        assertThat(net.readIndex(leader, 7)).isEqualTo(new ReadResult.Pending(7));
        var trace = net.stopTrace();
        assertThat(net.peer(leader).readStates).containsExactly(new ReadState(7, commit));
        assertThat(trace.stream().filter(m -> m instanceof Message.Heartbeat)).hasSize(2);
    }

    @Test
    void concurrentReadsAreBatchedIntoOneRound() {
        Network net = new Network(5, 32);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        // Block heartbeat responses so the first round stays in flight while more reads arrive.
        net.filter(m -> !(m instanceof Message.HeartbeatResponse));
        for (long id = 1; id <= 10; id++) {
            net.core(leader).readIndex(id);
        }
        net.drain(net.peer(leader));
        net.recover();
        net.startTrace();
        net.tickAll(1); // the periodic heartbeat carries the in-flight round
        net.tickAll(1);
        long heartbeats = net.stopTrace().stream().filter(m -> m instanceof Message.Heartbeat).count();
        assertThat(net.peer(leader).readStates).extracting(ReadState::requestId)
                .containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
        // Rounds, not reads, cost messages: two periodic heartbeats plus one extra round for the
        // reads that queued behind the first, against 10 rounds if each read had its own.
        assertThat(heartbeats).isLessThanOrEqualTo(4 * 4);
    }

    @Test
    void newLeaderDefersReadsUntilItCommitsInItsTerm() {
        Network net = new Network(3, 33, c -> c.withElection(false, false));
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        // A new leader whose no-op cannot commit yet: its commitIndex may lag entries committed
        // by its predecessor, so it must not answer reads (§6.4 step 1).
        long next = leader % 3 + 1;
        net.filter(m -> !(m instanceof Message.AppendEntriesResponse));
        net.campaign(next);
        assertThat(net.leader()).isEqualTo(next);
        net.readIndex(next, 99);
        net.tickAll(2);
        assertThat(net.peer(next).readStates).isEmpty();
        net.recover();
        net.tickAll(2);
        assertThat(net.peer(next).readStates).extracting(ReadState::requestId).containsExactly(99L);
        assertThat(net.peer(next).readStates.get(0).readIndex()).isEqualTo(net.core(next).log().lastIndex());
    }

    @Test
    void followerReadsAreForwardedAndNeverStale() {
        Network net = new Network(3, 34);
        long leader = electLeader(net);
        long follower = leader % 3 + 1;
        long lagging = 6 - leader - follower;
        // The lagging follower misses the latest writes.
        net.cut(leader, lagging);
        proposeOnLeader(net, "x=1");
        awaitApplied(net, "x=1", leader, follower);
        long commit = net.core(leader).commitIndex();
        net.recover();
        // Its read index is the leader's commit index, beyond what it has applied:
        net.cutOneWay(leader, lagging); // but heartbeats do not reach it, so it cannot catch up yet
        net.readIndex(lagging, 5);
        assertThat(net.peer(lagging).readStates).isEmpty(); // the response is blocked as well
        net.recover();
        net.readIndex(lagging, 6);
        ReadState rs = net.peer(lagging).readStates.get(0);
        assertThat(rs.requestId()).isEqualTo(6);
        assertThat(rs.readIndex()).isGreaterThanOrEqualTo(commit);
        // The driver serves it only once applied >= readIndex, which then includes x=1.
        awaitApplied(net, "x=1");
        assertThat(net.core(lagging).lastApplied()).isGreaterThanOrEqualTo(rs.readIndex());
    }

    @Test
    void inThreeVotersAFollowersRequestIsAnsweredWithoutAHeartbeatRound() {
        Network net = new Network(3, 37);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        long follower = leader % 3 + 1;
        long commit = net.core(leader).commitIndex();
        net.startTrace();
        net.readIndex(follower, 8);
        var trace = net.stopTrace();
        // The request and its sender make a quorum with the leader: two messages, not six.
        assertThat(trace).extracting(m -> m.getClass().getSimpleName())
                .containsExactly("ReadIndexRequest", "ReadIndexResponse");
        assertThat(net.peer(follower).readStates).containsExactly(new ReadState(8, commit));
    }

    @Test
    void inFiveVotersAFollowersRequestNeedsOneHeartbeatAckBesidesItsSender() {
        Network net = new Network(5, 38);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        long follower = leader % 5 + 1;
        long other = java.util.stream.LongStream.rangeClosed(1, 5)
                .filter(i -> i != leader && i != follower).findFirst().getAsLong();
        // Only one peer (not the requester) answers heartbeats: leader + it + the requester = 3 of 5.
        net.filter(m -> !(m instanceof Message.HeartbeatResponse) || m.from() == other);
        net.readIndex(follower, 9);
        assertThat(net.peer(follower).readStates).extracting(ReadState::requestId).containsExactly(9L);
        // The leader's own read in the same situation lacks a quorum ({leader, other}).
        net.readIndex(leader, 10);
        assertThat(net.peer(leader).readStates).isEmpty();
        net.recover();
        net.tickAll(2);
        assertThat(net.peer(leader).readStates).extracting(ReadState::requestId).containsExactly(10L);
    }

    @Test
    void readOnAFollowerWithoutLeaderIsRejected() {
        Network net = new Network(3, 35);
        assertThat(net.readIndex(1, 1)).isEqualTo(new Rejected(RaftError.NOT_LEADER, 0));
    }

    @Test
    void leaderThatStepsDownFailsItsPendingReadsAndProposals() {
        Network net = new Network(3, 36);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        net.isolate(leader);
        net.readIndex(leader, 42);
        var accepted = net.propose(leader, "doomed");
        net.tickAll(30); // check-quorum makes it step down
        assertThat(net.peer(leader).failures).contains(
                new Failure(Failure.Kind.READ, 42, RaftError.LEADERSHIP_LOST),
                new Failure(Failure.Kind.PROPOSAL, ((io.flotilla.raft.ProposeResult.Accepted) accepted).index(),
                        RaftError.LEADERSHIP_LOST));
    }
}
