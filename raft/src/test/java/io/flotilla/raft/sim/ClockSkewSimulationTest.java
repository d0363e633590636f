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
 *
 * <p>The same workload with stalled Raft loops (SimOptions.stalls, issue 14 item 2): a node's
 * loop, the leader's most often, stops for up to 750 ms while messages and requests queue and
 * ticks are missed, sometimes cut off as well; it resumes as RaftNode does, missed ticks first.
 * {@code CheckerHasTeethTest} shows the old resume order (queued inputs first) caught here.
 * {@code -Dflotilla.seeds=N} runs N seeds per case.
 */
class ClockSkewSimulationTest {

    static final int CI_SEEDS = 200;

    static SimOptions optionsFor(long seed, long skewMillis, boolean lease) {
        return RandomizedSimulationTest.optionsFor(seed).withElection(true, true).withLeaseRead(lease)
                .withClockSkewMillis(skewMillis);
    }

    /** Lease reads, clocks in lockstep, stalled loops; {@code bug}: the old resume order. */
    static SimOptions stallOptionsFor(long seed, boolean bug) {
        return optionsFor(seed, 0, true).withStalls(true, bug);
    }

    private static List<String> failures(long skewMillis, boolean lease) {
        return failures(seed -> optionsFor(seed, skewMillis, lease),
                "clock skew " + skewMillis + " ms, lease reads " + lease);
    }

    private static List<String> failures(java.util.function.LongFunction<SimOptions> options, String what) {
        int count = Integer.getInteger("flotilla.seeds", CI_SEEDS);
        List<String> failures = new ArrayList<>();
        for (long seed = 1; seed <= count && failures.size() < 5; seed++) {
            Simulation.Result r = Simulation.run(seed, options.apply(seed));
            if (!r.ok()) {
                failures.add("seed " + seed + " (" + what + "): " + r.failure() + "\n  replay: ./mvnw -B -pl raft -am test"
                        + " -Dtest=ClockSkewSimulationTest -Dflotilla.seeds=" + seed);
            }
        }
        return failures;
    }

    @Test
    void leaseReadsStayLinearizableWhileClocksDriftWithinTheBound() {
        // Tick periods 19..21 ms: a leader's 8-tick lease lasts under 8 x 21 = 168 ms after its
        // heartbeat left; a follower that got it refuses other candidates for more than
        // (10 - 1) x 19 = 171 ms (its first tick may come right after the heartbeat). With 10 ms
        // ticks a skew of 1 ms (9..11) would be slightly beyond that bound: 88 ms against 81.
        assertThat(failures(seed -> optionsFor(seed, 1, true).withTickMillis(20), "20 ms ticks, skew 1 ms, lease reads"))
                .as("failing seeds").isEmpty();
    }

    @Test
    void readIndexStaysLinearizableWhateverTheClocksDo() {
        // Tick periods 2..18 ms: clocks up to 9x apart.
        assertThat(failures(8, false)).as("failing seeds").isEmpty();
    }

    @Test
    void leaseReadsStayLinearizableWhenRaftLoopsStall() {
        assertThat(failures(seed -> stallOptionsFor(seed, false), "lease reads, stalled loops"))
                .as("failing seeds").isEmpty();
        // Coverage guard: the nemesis must really stall loops, and lease reads must be served.
        long stalls = 0;
        long reads = 0;
        for (long seed = 1; seed <= 20; seed++) {
            Simulation.Result r = Simulation.run(seed, stallOptionsFor(seed, false));
            stalls += r.stalls();
            reads += r.okReads();
        }
        assertThat(stalls).as("stalls in 20 seeds").isGreaterThan(20);
        assertThat(reads).as("reads in 20 seeds").isGreaterThan(500);
    }
}
