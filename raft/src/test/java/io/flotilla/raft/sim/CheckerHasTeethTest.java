package io.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The simulator must catch real bugs: with a bug injected through a storage seam, a bounded seed
 * search must report a safety violation. (The Figure 8 commit bug, injected through a test-only core
 * flag, is too rare for a short random search; {@code ReplicationScenariosTest} shows the checker
 * catching it in the scripted Figure 8 scenario.)
 */
class CheckerHasTeethTest {

    /**
     * About 1% of seeds hit the bug with these options (it needs two candidates in one term and a
     * voter crashing between their requests); the search stops at the first.
     */
    private static final int MAX_SEEDS = 5_000;

    @Test
    void hardStateStoreThatForgetsTheVoteAcrossCrashesIsCaught() {
        // Pre-vote and check-quorum off and crash-heavy, so that elections are contested and a
        // voter often restarts between two candidates' requests of one term.
        SimOptions buggy = SimOptions.defaults(3)
                .withElection(false, false)
                .withNetwork(50, 0.1)
                .withCrashAfterReadyRate(0.03)
                .withStragglerRate(0.5)
                .withBugs(true, false);
        Simulation.Result found = null;
        for (long seed = 1; seed <= MAX_SEEDS && found == null; seed++) {
            Simulation.Result r = Simulation.run(seed, buggy);
            if (!r.ok()) {
                found = r;
            }
        }
        assertThat(found).as("a violation within %d seeds", MAX_SEEDS).isNotNull();
        System.out.println("forgotten vote caught by seed " + found.seed() + ": " + found.failure());
        assertThat(found.failure()).containsAnyOf("ElectionSafety", "LeaderCompleteness", "StateMachineSafety",
                "two leaders");

        // The same search with a correct store passes: the violation is the bug's, not the checker's.
        SimOptions correct = buggy.withBugs(false, false);
        for (long seed = 1; seed <= found.seed(); seed++) {
            Simulation.Result r = Simulation.run(seed, correct);
            assertThat(r.failure()).as("seed %d without the bug", seed).isNull();
        }
    }

    @Test
    void driverThatForgetsToRestoreTheSnapshotOnRestartIsCaught() {
        // A restarted node claims the applied index of its durable snapshot but starts with an empty
        // state machine: the final state comparison and the durability check must notice.
        SimOptions buggy = SimOptions.defaults(3).withCrashAfterReadyRate(0.01).withSnapshots(true, true);
        Simulation.Result found = null;
        for (long seed = 1; seed <= 200 && found == null; seed++) {
            Simulation.Result r = Simulation.run(seed, buggy);
            if (!r.ok()) {
                found = r;
            }
        }
        assertThat(found).as("a violation within 200 seeds").isNotNull();
        System.out.println("forgotten snapshot restore caught by seed " + found.seed() + ": " + found.failure());
        assertThat(found.failure()).containsAnyOf("StateMachineSafety", "Durability", "Linearizability");
        SimOptions correct = buggy.withSnapshots(true, false);
        for (long seed = 1; seed <= found.seed(); seed++) {
            assertThat(Simulation.run(seed, correct).failure()).as("seed %d without the bug", seed).isNull();
        }
    }

    @Test
    void aRecoveryCutWithoutItsFenceIsCaught() {
        // The WAL's old, silent cut of a forced suffix: a node that lost entries it acknowledged
        // acts as if it never had them. Most seeds stop on the core's own assertion (a leader that
        // counted the lost acknowledgement tells the node to commit past its log); the search looks
        // for the cluster-level catch: a committed entry held by fewer nodes than any quorum needs,
        // with nobody fenced, so a leader without it can be elected.
        Simulation.Result found = null;
        int assertionStops = 0;
        for (long seed = 1; seed <= 200 && found == null; seed++) {
            Simulation.Result r = Simulation.run(seed, RecoverySimulationTest.optionsFor(seed).withDiskFaults(1.0, true));
            if (!r.ok() && (r.failure().contains("beyond last index")
                    || r.failure().contains("dropped as invalid"))) {
                // Caught early, on the node itself: the core's assertion, or (since peer input is
                // validated) a correct leader's heartbeat that commits past the cut log, which the
                // simulator's strict network reports as a drop between correct nodes.
                assertionStops++;
            } else if (!r.ok()) {
                found = r;
            }
        }
        assertThat(found).as("a cluster-level violation within 200 seeds").isNotNull();
        System.out.println("silent recovery cut caught by seed " + found.seed() + " (" + assertionStops
                + " earlier seeds stopped on the core's assertion): " + found.failure());
        assertThat(found.failure()).containsAnyOf("CommittedEntriesDurable", "StateMachineSafety",
                "LeaderCompleteness", "Durability", "Linearizability");
        for (long seed = 1; seed <= found.seed(); seed++) {
            assertThat(Simulation.run(seed, RecoverySimulationTest.optionsFor(seed)).failure())
                    .as("seed %d with the fence", seed).isNull();
        }
    }

    @Test
    void leaderThatAnswersReadsQueuedDuringAStallBeforeItsMissedTicksIsCaught() {
        // Issue 14 item 2: a node resuming from a stalled loop handles what queued (reads among
        // it) before the ticks it missed, as RaftNode did; a stalled, cut-off leader then answers
        // reads from a lease that ran out while a new leader committed. About 1 seed in 40.
        Simulation.Result found = null;
        for (long seed = 1; seed <= 400 && found == null; seed++) {
            Simulation.Result r = Simulation.run(seed, ClockSkewSimulationTest.stallOptionsFor(seed, true));
            if (!r.ok()) {
                found = r;
            }
        }
        assertThat(found).as("a violation within 400 seeds").isNotNull();
        System.out.println("stale lease read after a stall caught by seed " + found.seed() + ": " + found.failure());
        assertThat(found.failure()).contains("Linearizability");
        for (long seed = 1; seed <= found.seed(); seed++) {
            assertThat(Simulation.run(seed, ClockSkewSimulationTest.stallOptionsFor(seed, false)).failure())
                    .as("seed %d resuming ticks first", seed).isNull();
        }
    }
}
