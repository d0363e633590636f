package io.flotilla.server.node;

import java.util.function.LongSupplier;

/**
 * A token bucket for log lines about bad input: a burst of {@code burst} lines, then one per
 * {@code refillNanos}. A flood of bad frames must not flood the log (nor the disk it is on), yet the
 * first lines of a new problem must appear at once. Lines held back are counted and reported with
 * the next line let through. Thread-safe (network threads and the Raft loop share one).
 */
final class RateLimitedLog {
  private final int burst;
  private final long refillNanos;
  private final LongSupplier nanoClock;
  private double tokens;
  private long lastRefill;
  private long suppressed;

  RateLimitedLog(int burst, long refillNanos, LongSupplier nanoClock) {
    if (burst <= 0 || refillNanos <= 0) {
      throw new IllegalArgumentException("burst and refill must be positive");
    }
    this.burst = burst;
    this.refillNanos = refillNanos;
    this.nanoClock = nanoClock;
    this.tokens = burst;
    this.lastRefill = nanoClock.getAsLong();
  }

  /**
   * Whether a line may be written now: -1 if not (it is counted as suppressed), otherwise how many
   * lines were suppressed since the last one let through (to mention in this one).
   */
  synchronized long permit() {
    long now = nanoClock.getAsLong();
    tokens = Math.min(burst, tokens + (double) (now - lastRefill) / refillNanos);
    lastRefill = now;
    if (tokens < 1) {
      suppressed++;
      return -1;
    }
    tokens -= 1;
    long held = suppressed;
    suppressed = 0;
    return held;
  }
}
