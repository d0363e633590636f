package io.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Randomized simulation with an operator changing the membership under load and faults
 * ({@link SimMembership}): fresh nodes added as learners and promoted, followers and leaders
 * removed, voters replaced. Every safety invariant of {@link ClusterInvariants} is checked after
 * every event, plus ConfigurationAgreement; liveness, durability and linearizability at the end.
 * Half the seeds also serve reads from leader leases, so the linearizability check covers lease
 * reads across leader changes and membership changes (every node ticks at the same rate here).
 * {@code -Dflotilla.seed=S} replays one seed, {@code -Dflotilla.seeds=N} runs N.
 */
class MembershipSimulationTest {

    static final int CI_SEEDS = 300;

    /**
     * As {@link RandomizedSimulationTest#optionsFor} but always with pre-vote and check-quorum: a
     * removed node that missed the commit of its removal keeps campaigning, and only leader
     * stickiness keeps it from deposing leaders forever (dissertation §4.2.3).
     */
    static SimOptions optionsFor(long seed) {
        return RandomizedSimulationTest.optionsFor(seed).withElection(true, true).withMembership(true)
                .withLeaseRead(seed % 4 < 2);
    }

    @Test
    void membershipChangesUnderLoadStaySafeAndLive() {
        String one = System.getProperty("flotilla.seed");
        List<Long> seeds = new ArrayList<>();
        if (one != null && !one.isBlank()) {
            seeds.add(Long.parseLong(one.trim()));
        } else {
            int count = Integer.getInteger("flotilla.seeds", Boolean.getBoolean("flotilla.soak") ? 5_000 : CI_SEEDS);
            for (long s = 1; s <= count; s++) {
                seeds.add(s);
            }
        }
        List<String> failures = new ArrayList<>();
        long changes = 0;
        long writes = 0;
        for (long seed : seeds) {
            Simulation.Result r = Simulation.run(seed, optionsFor(seed));
            changes += r.confChanges();
            writes += r.okWrites();
            if (!r.ok()) {
                failures.add("seed " + seed + ": " + r.failure() + "\n  replay: "
                        + Simulation.replayCommand(seed, "MembershipSimulationTest"));
                if (failures.size() >= 5) {
                    break;
                }
            }
        }
        System.out.printf("simulated %d seeds with membership changes: %d changes accepted, %d acknowledged writes%n",
                seeds.size(), changes, writes);
        assertThat(failures).as("failing seeds").isEmpty();
        if (seeds.size() >= 100) {
            // Coverage guard: the operator must really change the membership in most runs.
            assertThat(changes).as("accepted membership changes").isGreaterThan(seeds.size());
        }
    }
}
