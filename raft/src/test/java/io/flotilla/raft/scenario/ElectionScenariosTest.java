package io.flotilla.raft.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Role;
import io.flotilla.raft.sim.Network;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Leader election scenarios (6.824 lab 2A; Raft paper §5.2, dissertation §9.6 pre-vote, §6.2 check-quorum). */
class ElectionScenariosTest {

    private static long leaderAfter(Network net, int ticks) {
        net.tickAll(ticks);
        return net.leader();
    }

    @Test
    void initialElection() {
        Network net = new Network(3, 1);
        long leader = leaderAfter(net, 25);
        assertThat(leader).isNotZero();
        long term = net.core(leader).term();
        for (Network.Peer p : net.peers()) {
            assertThat(p.core.leaderId()).isEqualTo(leader);
            assertThat(p.core.term()).isEqualTo(term);
        }
        // No further elections while nothing fails.
        net.tickAll(100);
        assertThat(net.leader()).isEqualTo(leader);
        assertThat(net.core(leader).term()).isEqualTo(term);
    }

    @Test
    void reElectionAfterLeaderLoss() {
        Network net = new Network(3, 2);
        long first = leaderAfter(net, 25);
        net.isolate(first);
        net.tickAll(40);
        long second = net.leader();
        assertThat(second).isNotIn(0L, first);
        // The old leader stepped down by itself: check-quorum.
        assertThat(net.core(first).role()).isNotEqualTo(Role.LEADER);
        // It rejoins as a follower without disturbing the new leader (pre-vote).
        long term = net.core(second).term();
        net.recover();
        net.tickAll(40);
        assertThat(net.leader()).isEqualTo(second);
        assertThat(net.core(second).term()).isEqualTo(term);
        assertThat(net.core(first).leaderId()).isEqualTo(second);
        // With no majority, nobody is elected.
        net.isolate(second);
        net.isolate(first);
        net.tickAll(60);
        assertThat(net.peers().stream().filter(p -> p.core.role() == Role.LEADER && p.id != second)).isEmpty();
        net.recover();
        net.tickAll(40);
        assertThat(net.leader()).isNotZero();
    }

    @Test
    void manyElectionsUnderChurn() {
        Network net = new Network(5, 3);
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        Set<Long> leaders = new HashSet<>();
        for (int round = 0; round < 20; round++) {
            net.recover();
            // Isolate up to two nodes at random: a majority always remains.
            long a = 1 + random.nextInt(5);
            long b = 1 + random.nextInt(5);
            net.isolate(a);
            net.isolate(b);
            net.tickAll(50);
            long leader = net.leader();
            assertThat(leader).as("round %d", round).isNotZero();
            assertThat(leader).isNotIn(a, b);
            leaders.add(leader);
        }
        net.recover();
        net.tickAll(50);
        assertThat(net.leader()).isNotZero();
        assertThat(leaders.size()).isGreaterThan(1);
    }

    @Test
    void preVoteKeepsAPartitionedNodeFromInflatingTerms() {
        Network net = new Network(3, 4);
        long leader = leaderAfter(net, 25);
        long term = net.core(leader).term();
        long lonely = leader == 1 ? 2 : 1;
        net.isolate(lonely);
        net.tickAll(200);
        assertThat(net.core(lonely).term()).isEqualTo(term); // pre-votes fail, term unchanged
        assertThat(net.core(lonely).role()).isEqualTo(Role.PRE_CANDIDATE);
        net.recover();
        net.tickAll(20);
        assertThat(net.leader()).isEqualTo(leader);
        assertThat(net.core(leader).term()).isEqualTo(term);
    }

    @Test
    void withoutPreVoteARejoiningNodeDisruptsTheLeader() {
        // The contrast case, showing why pre-vote is on by default.
        Network net = new Network(3, 5, c -> c.withElection(false, false));
        long leader = leaderAfter(net, 25);
        long term = net.core(leader).term();
        long lonely = leader == 1 ? 2 : 1;
        net.isolate(lonely);
        net.tickAll(100);
        assertThat(net.core(lonely).term()).isGreaterThan(term + 2);
        net.recover();
        net.tickAll(40);
        assertThat(net.core(net.leader()).term()).isGreaterThan(term);
    }

    @Test
    void followersWithALiveLeaderIgnoreVoteRequests() {
        // Leader stickiness: a node with a higher term but no pre-vote cannot depose a live leader.
        Network net = new Network(3, 6);
        long leader = leaderAfter(net, 25);
        long term = net.core(leader).term();
        long other = leader == 1 ? 2 : 1;
        net.send(new io.flotilla.raft.Message.RequestVote(1, other, 6 - leader - other, term + 5,
                net.core(other).log().lastIndex(), net.core(other).log().lastTerm(), false, false));
        assertThat(net.core(6 - leader - other).term()).isEqualTo(term);
        assertThat(net.leader()).isEqualTo(leader);
    }

    @Test
    void electionTimeoutsAreRandomizedInTToTwoT() {
        // Each follower campaigns after [T, 2T) ticks: over many restarts both ends of the range show up.
        Set<Integer> observed = new HashSet<>();
        for (long seed = 0; seed < 200; seed++) {
            Network net = new Network(3, seed);
            net.isolate(1);
            int ticks = 0;
            while (net.core(1).role() == Role.FOLLOWER) {
                net.tick(1);
                ticks++;
            }
            observed.add(ticks);
        }
        assertThat(observed).allMatch(t -> t >= 10 && t < 20);
        assertThat(observed).contains(10, 19);
    }
}
