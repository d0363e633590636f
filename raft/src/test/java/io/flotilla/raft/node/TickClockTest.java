package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The driver's tick arithmetic on a monotonic clock (issue 14 item 2). */
class TickClockTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private final AtomicLong nanos = new AtomicLong(5_000 * MS); // an arbitrary origin
    private final TickClock clock = new TickClock(nanos::get, 10, 20);

    private long feed() {
        return clock.take(clock.owed());
    }

    @Test
    void nothingIsDueBeforeStart() {
        nanos.addAndGet(1_000 * MS);
        assertThat(clock.owed()).isZero();
        clock.start();
        assertThat(clock.owed()).as("counted from start, not from the clock's zero").isZero();
    }

    @Test
    void aTickIsDueOnlyOnceItsWholePeriodHasPassed() {
        clock.start();
        nanos.addAndGet(9 * MS);
        assertThat(feed()).isZero();
        nanos.addAndGet(MS);
        assertThat(feed()).isEqualTo(1);
        assertThat(feed()).as("handed out once").isZero();
        nanos.addAndGet(35 * MS); // 45 ms since start: 4 due, 1 fed
        assertThat(feed()).isEqualTo(3);
    }

    @Test
    void afterALongStallAtMostTheCapIsFedAndTheRestSkipped() {
        clock.start();
        nanos.addAndGet(10_000 * MS); // 1,000 ticks owed
        assertThat(clock.owed()).isEqualTo(1_000);
        assertThat(feed()).isEqualTo(20);
        assertThat(clock.owed()).as("the skipped ones are not owed later").isZero();
        nanos.addAndGet(10 * MS);
        assertThat(feed()).isEqualTo(1);
    }

    @Test
    void refusesNonsense() {
        assertThatThrownBy(() -> new TickClock(nanos::get, 0, 20)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TickClock(nanos::get, 10, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
