package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Entry;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Message;
import io.flotilla.raft.Role;
import io.flotilla.raft.TestSeams;
import io.flotilla.raft.sim.Network;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Raft paper Figure 8: a leader must not commit an entry of an earlier term by counting replicas
 * (§5.4.2). The scripted run replays the figure; with the bug injected (test-only flag) the same
 * script commits an entry that a later leader then overwrites, and the core's invariant stops it.
 */
class Figure8ScenariosTest {

    /** Runs the Figure 8 script; returns the network at the end. */
    private static Network figure8(boolean injectBug) {
        // One entry per AppendEntries so that replication can stop between two entries.
        Network net = new Network(5, 8, c -> c.withElection(false, false).withLimits(64 * 1024, 1, 16));
        // (a) S1 leads and commits its no-op.
        net.campaign(1);
        assertThat(net.leader()).isEqualTo(1);
        net.tickAll(1);
        long k = net.core(1).log().lastIndex() + 1;
        // S1 replicates x at index k to S2 only.
        for (long id = 3; id <= 5; id++) {
            net.cut(1, id);
        }
        net.propose(1, "x");
        assertThat(net.core(2).log().lastIndex()).isEqualTo(k);
        // (b) S1 goes away; S5 is elected by S3, S4 and itself and appends at index k (its no-op)
        // without replicating it.
        net.recover();
        net.crash(1);
        net.filter(m -> !(m instanceof Message.AppendEntries && m.from() == 5));
        net.campaign(5);
        assertThat(net.core(5).role()).isEqualTo(Role.LEADER);
        long termOfS5Entry = net.core(5).term();
        assertThat(net.core(5).log().term(k)).isEqualTo(termOfS5Entry);
        // (c) S5 goes away; S1 comes back and is elected (S2, S3, S4), replicating x to S3 only and
        // not (yet) its own current-term entry.
        net.recover();
        net.crash(5);
        net.restart(1);
        if (injectBug) {
            TestSeams.commitOlderTerms(net.core(1));
        }
        net.cut(1, 4);
        // S3 gets x but nothing after it (a probe S3 will reject may pass).
        net.filter(m -> !(m instanceof Message.AppendEntries ae && m.from() == 1 && m.to() == 3
                && ae.entries().stream().anyMatch(e -> e.index() > k) && net.core(3).log().lastIndex() >= k));
        while (net.core(1).role() != Role.LEADER) {
            net.campaign(1);
        }
        net.tickAll(2);
        assertThat(net.core(3).log().lastIndex()).isEqualTo(k);
        Entry x = net.core(3).log().slice(k, k + 1, Long.MAX_VALUE).get(0);
        assertThat(new String(x.data())).isEqualTo("x");
        if (!injectBug) {
            // x is on a majority (S1, S2, S3) but of an older term: not committed.
            assertThat(net.core(1).commitIndex()).isLessThan(k);
        }
        // (d) S1 goes away; S5 (last term newer than x's) wins and overwrites index k everywhere.
        net.recover();
        net.crash(1);
        net.restart(5);
        while (net.core(5).role() != Role.LEADER) {
            net.campaign(5);
        }
        net.tickAll(3);
        return net;
    }

    @Test
    void figure8Reliable() {
        Network net = figure8(false);
        // x was never committed, so losing it is correct; everyone agrees with S5.
        for (long id = 2; id <= 5; id++) {
            assertThat(net.peer(id).appliedCommands()).doesNotContain("x");
        }
        net.recover();
        net.restart(1);
        proposeOnLeader(net, "after");
        awaitApplied(net, "after");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void figure8BugIsCaught() {
        // Counting replicas of an older-term entry commits x, which S5 then overwrites on S2/S3:
        // a follower that committed x asserts the new leader agrees with its committed prefix and
        // stops (InvariantViolation) instead of silently losing x.
        assertThatThrownBy(() -> figure8(true)).isInstanceOf(InvariantViolation.class)
                .hasMessageContaining("conflicts with committed prefix");
    }

    @Test
    void figure8Unreliable() {
        // Lab 2C Figure8Unreliable: leaders crash and lose contact at random while the network drops
        // and reorders; in the end everything committed is agreed on.
        Network net = new Network(5, 88);
        SplittableRandom random = new SplittableRandom(88);
        for (int round = 0; round < 100; round++) {
            net.dropAll(0.1);
            long leader = net.leader();
            if (leader != 0) {
                net.propose(leader, "f" + round);
                if (random.nextInt(3) == 0) {
                    net.crash(leader);
                }
            }
            net.tickAll(1 + random.nextInt(12));
            int down = 0;
            for (long id = 1; id <= 5; id++) {
                if (net.isDown(id)) {
                    down++;
                }
            }
            for (long id = 1; id <= 5 && down >= 2; id++) {
                if (net.isDown(id) && random.nextBoolean()) {
                    net.restart(id);
                    down--;
                }
            }
        }
        net.recover();
        for (long id = 1; id <= 5; id++) {
            if (net.isDown(id)) {
                net.restart(id);
            }
        }
        proposeOnLeader(net, "final");
        awaitApplied(net, "final");
        assertAppliedPrefixesAgree(net);
    }
}
