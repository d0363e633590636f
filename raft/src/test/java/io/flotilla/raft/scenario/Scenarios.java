package io.flotilla.raft.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.sim.Network;
import java.util.List;

/** Helpers shared by the scenario tests. */
final class Scenarios {

    private Scenarios() {}

    static long electLeader(Network net) {
        for (int i = 0; i < 100 && net.leader() == 0; i++) {
            net.tickAll(1);
        }
        assertThat(net.leader()).as("a leader").isNotZero();
        return net.leader();
    }

    /** Proposes on the current leader, retrying across elections; returns the accepted index. */
    static long proposeOnLeader(Network net, String command) {
        for (int i = 0; i < 200; i++) {
            long leader = net.leader();
            if (leader != 0 && net.propose(leader, command) instanceof ProposeResult.Accepted a) {
                return a.index();
            }
            net.tickAll(1);
        }
        throw new AssertionError("no leader accepted " + command);
    }

    /** Ticks until every live peer (or the given ones) applied {@code command}; fails after a bound. */
    static void awaitApplied(Network net, String command, long... ids) {
        for (int i = 0; i < 300; i++) {
            if (appliedEverywhere(net, command, ids)) {
                return;
            }
            net.tickAll(1);
        }
        throw new AssertionError(command + " not applied everywhere");
    }

    static boolean appliedEverywhere(Network net, String command, long... ids) {
        List<Network.Peer> peers = net.peers();
        for (Network.Peer p : peers) {
            boolean wanted = ids.length == 0 || java.util.Arrays.stream(ids).anyMatch(x -> x == p.id);
            if (wanted && !p.appliedCommands().contains(command)) {
                return false;
            }
        }
        return true;
    }

    /** Every pair of peers applied the same sequence, one a prefix of the other (State Machine Safety). */
    static void assertAppliedPrefixesAgree(Network net) {
        List<Network.Peer> peers = net.peers();
        for (Network.Peer a : peers) {
            for (Network.Peer b : peers) {
                int n = Math.min(a.applied.size(), b.applied.size());
                assertThat(a.applied.subList(0, n)).as("nodes %d and %d", a.id, b.id).isEqualTo(b.applied.subList(0, n));
            }
        }
    }
}
