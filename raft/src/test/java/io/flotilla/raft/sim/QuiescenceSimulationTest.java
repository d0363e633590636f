package io.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/**
 * The randomized simulation with quiescence on (RaftConfig.withQuiesce): idle groups stop their
 * heartbeats and election timers between the nemesis's faults and after the heal, and wake on
 * any message or request, or when the simulated transport reports their leader unreachable.
 * Every invariant and the linearizability check hold as without it, and after the heal the groups
 * fall silent (a coverage guard). {@code -Dflotilla.seeds=N} runs N seeds per case.
 */
class QuiescenceSimulationTest {

    static final int CI_SEEDS = 300;

    private static List<String> failures(LongFunction<SimOptions> options, String what, long[] quiesced) {
        int count = Integer.getInteger("flotilla.seeds", CI_SEEDS);
        List<String> failures = new ArrayList<>();
        for (long seed = 1; seed <= count && failures.size() < 5; seed++) {
            Simulation.Result r = Simulation.run(seed, options.apply(seed));
            quiesced[0] += r.quiescedAtEnd();
            if (!r.ok()) {
                failures.add("seed " + seed + " (" + what + "): " + r.failure() + "\n  replay: ./mvnw -B -pl raft -am"
                        + " test -Dtest=QuiescenceSimulationTest -Dflotilla.seeds=" + seed);
            }
        }
        return failures;
    }

    @Test
    void quiescingGroupsStaySafeAndLive() {
        long[] quiesced = {0};
        assertThat(failures(seed -> RandomizedSimulationTest.optionsFor(seed).withQuiesce(true), "quiescence",
                quiesced)).as("failing seeds").isEmpty();
        assertThat(quiesced[0]).as("nodes quiesced at the end of the runs").isGreaterThan(CI_SEEDS);
    }

    @Test
    void quiescingGroupsWithMembershipChangesAndLeaseReadsStaySafeAndLive() {
        long[] quiesced = {0};
        assertThat(failures(seed -> MembershipSimulationTest.optionsFor(seed).withQuiesce(true).withLeaseRead(true),
                "quiescence, membership, lease reads", quiesced)).as("failing seeds").isEmpty();
        assertThat(quiesced[0]).as("nodes quiesced at the end of the runs").isGreaterThan(CI_SEEDS);
    }
}
