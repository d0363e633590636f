package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Message;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Role;
import io.flotilla.raft.sim.Network;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Lease-based reads (dissertation §6.4.1): off by default; with a lease, no heartbeat round. */
class LeaseReadScenariosTest {

    /** electionTick 10, lease = 10 - 2 ticks. */
    private static Network leased(long seed) {
        return new Network(3, seed, cfg -> cfg.withLeaseRead(2));
    }

    @Test
    void aLeaderWithALeaseAnswersWithoutAHeartbeatRound() {
        Network net = leased(51);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        net.tickAll(1); // one heartbeat round acknowledged by both followers
        assertThat(net.core(leader).hasReadLease()).isTrue();
        long commit = net.core(leader).commitIndex();
        net.startTrace();
        assertThat(net.readIndex(leader, 7)).isEqualTo(new ReadResult.Pending(7));
        assertThat(net.stopTrace()).as("no message at all").isEmpty();
        assertThat(net.peer(leader).readStates).containsExactly(new ReadState(7, commit));
        // A follower's forwarded read is answered by the leader's lease too: one request, one response.
        long follower = leader % 3 + 1;
        net.startTrace();
        net.readIndex(follower, 8);
        assertThat(net.stopTrace()).extracting(m -> m.getClass().getSimpleName())
                .containsExactly("ReadIndexRequest", "ReadIndexResponse");
        assertThat(net.peer(follower).readStates).containsExactly(new ReadState(8, commit));
    }

    @Test
    void noLeaseAfterLosingContactWithTheQuorum() {
        Network net = leased(52);
        long leader = isolatedLeaseHolder(net);
        for (int i = 0; i < 8; i++) { // the lease: electionTick - maxClockDriftTicks
            net.tick(leader);
        }
        // Still leader (check-quorum acts only at electionTick), but the lease has run out.
        assertThat(net.core(leader).role()).isEqualTo(Role.LEADER);
        assertThat(net.core(leader).hasReadLease()).isFalse();
        net.readIndex(leader, 9);
        assertThat(net.peer(leader).readStates).isEmpty();
        // Meanwhile the others elect a new leader, which is safe: the old one serves no reads.
        long others = leader % 3 + 1;
        for (int i = 0; i < 100 && net.leader() == leader; i++) {
            for (long id = 1; id <= 3; id++) {
                if (id != leader) {
                    net.tick(id);
                }
            }
        }
        assertThat(net.core(others).leaderId()).isNotEqualTo(leader);
        assertThat(net.peer(leader).readStates).isEmpty();
    }

    @Test
    void leaseReadsAreOffByDefault() {
        RaftConfig defaults = RaftConfig.of(1, 1, Set.of(1L, 2L, 3L), new SplittableRandom(1));
        assertThat(defaults.leaseRead()).isFalse();
        Network net = new Network(3, 53);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        net.tickAll(1);
        assertThat(net.core(leader).hasReadLease()).isFalse();
        net.startTrace();
        net.readIndex(leader, 7);
        assertThat(net.stopTrace().stream().filter(m -> m instanceof Message.Heartbeat)).hasSize(2);
        // And a lease needs check-quorum (its stickiness is what makes the lease hold).
        assertThatThrownBy(() -> defaults.withElection(true, false).withLeaseRead(2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRestartedFollowerKeepsTheLeasePromiseItForgot() {
        Network net = leased(54);
        long leader = electLeader(net);
        proposeOnLeader(net, "w");
        awaitApplied(net, "w");
        long follower = leader % 3 + 1;
        long other = follower % 3 + 1;
        net.crash(follower);
        net.restart(follower);
        net.isolate(follower);
        long term = net.core(follower).term();
        var log = net.core(follower).log();
        Message.RequestVote rv = new Message.RequestVote(1, other, follower, term + 1, log.lastIndex(), log.lastTerm(),
                false, false);
        net.recover();
        net.startTrace();
        net.send(rv);
        assertThat(net.stopTrace()).as("ignored during the first election timeout").containsExactly(rv);
        assertThat(net.core(follower).term()).isEqualTo(term);
        net.isolate(follower);
        for (int i = 0; i < 10; i++) {
            net.tick(follower);
        }
        net.recover();
        net.startTrace();
        net.send(rv);
        assertThat(net.stopTrace()).anyMatch(m -> m instanceof Message.RequestVoteResponse r && r.granted());
    }

    /** A leader that committed x=1 and holds a lease, then cut off from both followers. */
    private static long isolatedLeaseHolder(Network net) {
        long leader = electLeader(net);
        proposeOnLeader(net, "x=1");
        awaitApplied(net, "x=1");
        net.tickAll(1);
        assertThat(net.core(leader).hasReadLease()).isTrue();
        net.isolate(leader);
        return leader;
    }

    /**
     * Ticks the isolated old leader once per {@code leaderTicks} and the others {@code followerTicks}
     * times per step, until they elect a new leader and commit a write there, or the old leader has
     * ticked {@code maxLeaderTicks} times. Returns the old leader's ticks until then (-1: no write).
     */
    private static int oldLeaderTicksUntilANewLeaderCommits(Network net, long old, int leaderTicks, int followerTicks,
            int maxLeaderTicks) {
        int oldTicks = 0;
        while (oldTicks < maxLeaderTicks) {
            for (int i = 0; i < followerTicks; i++) {
                for (long id = 1; id <= 3; id++) {
                    if (id != old) {
                        net.tick(id);
                    }
                }
            }
            for (int i = 0; i < leaderTicks; i++) {
                net.tick(old);
                oldTicks++;
            }
            long now = net.leader();
            if (now != 0 && now != old && net.core(now).role() == Role.LEADER) {
                if (net.peer(now).appliedCommands().stream().noneMatch(c -> c.endsWith("x=2"))) {
                    net.propose(now, "x=2");
                }
                if (net.peer(now).appliedCommands().stream().anyMatch(c -> c.endsWith("x=2"))) {
                    return oldTicks;
                }
            }
        }
        return -1;
    }

    @Test
    void followerClocksBeyondTheDriftBoundLetAStaleLeaseReadThrough() {
        // Teeth for the drift bound: followers whose clocks run 3x faster than the leader's elect a
        // new leader, which commits x=2, while the isolated old leader still believes its lease.
        Network net = leased(55);
        long leader = isolatedLeaseHolder(net);
        long staleCommit = net.core(leader).commitIndex();
        int oldTicks = oldLeaderTicksUntilANewLeaderCommits(net, leader, 1, 3, 100);
        assertThat(oldTicks).as("old leader ticks until x=2 committed elsewhere").isBetween(1, 7);
        assertThat(net.core(leader).hasReadLease()).isTrue();
        net.readIndex(leader, 77);
        // Served at the old commit index: a read that began after x=2 was acknowledged misses it.
        assertThat(net.peer(leader).readStates).containsExactly(new ReadState(77, staleCommit));
    }

    @Test
    void followerClocksWithinTheDriftBoundFindTheLeaseExpired() {
        // Followers 6 ticks per 5 of the leader's (20% fast, inside 2 of 10 ticks): by the time a new
        // leader commits anything, the old leader's lease has run out and it answers no read.
        Network net = leased(56);
        long leader = isolatedLeaseHolder(net);
        int oldTicks = oldLeaderTicksUntilANewLeaderCommits(net, leader, 5, 6, 200);
        assertThat(oldTicks).as("old leader ticks until x=2 committed elsewhere").isGreaterThanOrEqualTo(8);
        assertThat(net.core(leader).hasReadLease()).isFalse();
        net.readIndex(leader, 78);
        assertThat(net.peer(leader).readStates).isEmpty();
    }
}
