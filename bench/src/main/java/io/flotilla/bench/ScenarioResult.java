package io.flotilla.bench;

import org.HdrHistogram.Histogram;

/**
 * What one quick-benchmark scenario measured.
 *
 * @param name         short scenario name, e.g. {@code wal-closed-8}
 * @param description  one line for the table
 * @param threads      threads issuing writes
 * @param window       writes each thread keeps in flight (1 for a closed loop)
 * @param ops          writes (appends) made durable during the measured time
 * @param payloadBytes payload bytes of those writes
 * @param diskBytes    bytes written to disk for them: payload plus the log's record headers
 * @param elapsedNanos measured time
 * @param latency      per-write latency in nanoseconds, from issue to durable
 */
public record ScenarioResult(
    String name,
    String description,
    int threads,
    int window,
    long ops,
    long payloadBytes,
    long diskBytes,
    long elapsedNanos,
    Histogram latency) {

  private static final double MB = 1_000_000.0;

  public double opsPerSecond() {
    return ops / seconds();
  }

  /** Payload throughput in MB/s (10^6 bytes). */
  public double payloadMBps() {
    return payloadBytes / seconds() / MB;
  }

  /** Bytes-to-disk throughput in MB/s (10^6 bytes): payload plus record headers. */
  public double diskMBps() {
    return diskBytes / seconds() / MB;
  }

  public double meanMillis() {
    return latency.getMean() / 1e6;
  }

  public double percentileMillis(double percentile) {
    return latency.getValueAtPercentile(percentile) / 1e6;
  }

  public double maxMillis() {
    return latency.getMaxValue() / 1e6;
  }

  /** This result and {@code other} (another round of the same scenario) as one. */
  public ScenarioResult merge(ScenarioResult other) {
    if (!other.name.equals(name)) {
      throw new IllegalArgumentException("cannot merge " + other.name + " into " + name);
    }
    Histogram all = latency.copy();
    all.add(other.latency);
    return new ScenarioResult(name, description, threads, window, ops + other.ops,
        payloadBytes + other.payloadBytes, diskBytes + other.diskBytes,
        elapsedNanos + other.elapsedNanos, all);
  }

  private double seconds() {
    return Math.max(elapsedNanos, 1) / 1e9;
  }
}
