package io.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Clocks that run at different rates (SimOptions.clockSkewMillis: every node, every incarnation,
 * ticks at its own period) under the usual nemesis, with the linearizability checker judging every
 * read. Lease reads (dissertation §6.4.1) promise safety only while no clock runs faster than the
 * drift bound allows ({@code maxClockDriftTicks}: 2 of 10 election ticks here); ReadIndex trusts
 * no clock at all. That lease reads break beyond the bound is shown deterministically in
 * {@code LeaseReadScenariosTest.followerClocksBeyondTheDriftBoundLetAStaleLeaseReadThrough}: this
 * random nemesis did not hit that narrow window in 1,000 seeds with periods 2..18 ms.
 * {@code -Dflotilla.seeds=N} runs N seeds per case.
 */
class ClockSkewSimulationTest {

    static final int CI_SEEDS = 200;

    static SimOptions optionsFor(long seed, long skewMillis, boolean lease) {
        return RandomizedSimulationTest.optionsFor(seed).withElection(true, true).withLeaseRead(lease)
                .withClockSkewMillis(skewMillis);
    }

    private static List<String> failures(long skewMillis, boolean lease) {
        int count = Integer.getInteger("flotilla.seeds", CI_SEEDS);
        List<String> failures = new ArrayList<>();
        for (long seed = 1; seed <= count && failures.size() < 5; seed++) {
            Simulation.Result r = Simulation.run(seed, optionsFor(seed, skewMillis, lease));
            if (!r.ok()) {
                failures.add("seed " + seed + " (clock skew " + skewMillis + " ms, lease reads " + lease + "): "
                        + r.failure());
            }
        }
        return failures;
    }

    @Test
    void leaseReadsStayLinearizableWhileClocksDriftWithinTheBound() {
        // Tick periods 9..11 ms: no clock runs more than 11/9 (22%) faster than another, so every
        // follower's 10-tick election timeout outlasts any leader's 8-tick lease.
        assertThat(failures(1, true)).as("failing seeds").isEmpty();
    }

    @Test
    void readIndexStaysLinearizableWhateverTheClocksDo() {
        // Tick periods 2..18 ms: clocks up to 9x apart.
        assertThat(failures(8, false)).as("failing seeds").isEmpty();
    }
}
