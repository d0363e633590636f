package io.flotilla.raft.node;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The driver's time: how many Raft ticks a monotonic clock says are due. Tick n is due
 * {@code n * tickMillis} after {@link #start}; the driver feeds the core every due tick before it
 * handles anything else (issue 14 item 2), so the core's tick count at any decision is
 * {@code floor((now - start) / tickMillis)} however long the loop was held. The arithmetic lives
 * here, apart from the loop, so that it can be tested on its own.
 *
 * <p>{@link #start} may be called from any thread; the rest only from the driver's loop.
 */
final class TickClock {

    private final LongSupplier nanoClock;
    private final long tickNanos;
    private final long maxCatchUp;
    private volatile long origin;
    private volatile boolean started;
    /** Ticks accounted for since start: fed to the core, or skipped after a long stall. */
    private long accounted;

    /**
     * @param nanoClock  a monotonic clock in nanoseconds (System::nanoTime, or a test's)
     * @param maxCatchUp at most this many owed ticks are handed out at once; the rest are skipped
     */
    TickClock(LongSupplier nanoClock, long tickMillis, long maxCatchUp) {
        if (tickMillis <= 0 || maxCatchUp <= 0) {
            throw new IllegalArgumentException("tickMillis and maxCatchUp must be positive: " + tickMillis + ", "
                    + maxCatchUp);
        }
        this.nanoClock = Objects.requireNonNull(nanoClock);
        this.tickNanos = TimeUnit.MILLISECONDS.toNanos(tickMillis);
        this.maxCatchUp = maxCatchUp;
    }

    void start() {
        origin = nanoClock.getAsLong();
        started = true;
    }

    /** The clock's reading. */
    long nanos() {
        return nanoClock.getAsLong();
    }

    /** Ticks due and not yet accounted for (0 before start). */
    long owed() {
        return started ? (nanoClock.getAsLong() - origin) / tickNanos - accounted : 0;
    }

    /**
     * Accounts for {@code owed} ticks (as {@link #owed} returned) and says how many to feed: all
     * of them, or {@code maxCatchUp} after a stall longer than that. Skipping the rest is safe: by
     * then every lease and every election timer has run out anyway.
     */
    long take(long owed) {
        if (owed <= 0) {
            return 0;
        }
        accounted += owed;
        return Math.min(owed, maxCatchUp);
    }
}
