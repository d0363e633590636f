package io.flotilla.raft.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** One seed, one run: replaying a seed must reproduce it exactly (the replay command relies on it). */
class SimulationDeterminismTest {

    @Test
    void sameSeedSameRun() {
        for (long seed : new long[] {3, 4, 1234567}) {
            SimOptions options = SimOptions.defaults(seed % 2 == 1 ? 3 : 5);
            Simulation.Result a = Simulation.run(seed, options);
            Simulation.Result b = Simulation.run(seed, options);
            assertThat(a).isEqualTo(b);
            assertThat(a.ok()).as(a.toString()).isTrue();
            assertThat(a.okWrites()).isPositive();
            assertThat(a.okReads()).isPositive();
        }
    }

    @Test
    void differentSeedsDiffer() {
        Simulation.Result a = Simulation.run(10, SimOptions.defaults(5));
        Simulation.Result b = Simulation.run(12, SimOptions.defaults(5));
        assertThat(a.events()).isNotEqualTo(b.events());
    }
}
