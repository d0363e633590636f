package io.flotilla.server.admin;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Once a second, what the dashboard charts, read from the node's own meters (docs/metrics.md) and
 * kept for the last {@value #KEEP} seconds: requests per second, request latency percentiles over
 * that second (from the histogram buckets' increase, as Prometheus' {@code histogram_quantile}
 * over a rate would give), WAL forces per second and entries per force, apply lag, leader
 * changes, term. Reads meters by their documented names only, so it knows nothing of who records
 * them. {@link #sample} runs on one thread (the dashboard's timer); {@link #last} from any.
 */
public final class StatsSampler {
  static final int KEEP = 300;

  /** One second of one node. Latencies in ms (NaN: no request that second); rates per second. */
  public record Sample(long t, double requests, double errors, double p50, double p99, double p999,
      double walForces, double walBatch, double applyLag, double leaderChanges, double term,
      double commit, double applied) {}

  private final MeterRegistry registry;
  private final ArrayDeque<Sample> samples = new ArrayDeque<>(KEEP);
  private long lastNanos;
  private double lastRequests;
  private double lastErrors;
  private double lastForces;
  private double lastBatchEntries;
  private TreeMap<Double, Double> lastBuckets = new TreeMap<>();

  public StatsSampler(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Takes one sample now (the first call only sets the baseline). */
  public void sample() {
    long now = System.nanoTime();
    double requests = 0;
    TreeMap<Double, Double> buckets = new TreeMap<>();
    for (Timer t : registry.find("flotilla.client.requests").timers()) {
      requests += t.count();
      for (CountAtBucket b : t.takeSnapshot().histogramCounts()) {
        buckets.merge(b.bucket(TimeUnit.MILLISECONDS), b.count(), Double::sum);
      }
    }
    double errors = count("flotilla.client.errors");
    Timer force = registry.find("flotilla.wal.force").timer();
    double forces = force == null ? 0 : force.count();
    DistributionSummary batch = registry.find("flotilla.wal.batch.entries").summary();
    double batchEntries = batch == null ? 0 : batch.totalAmount();
    if (lastNanos != 0) {
      double secs = Math.max(1e-3, (now - lastNanos) / 1e9);
      double newRequests = requests - lastRequests;
      double newForces = forces - lastForces;
      Sample s = new Sample(System.currentTimeMillis(), newRequests / secs, (errors - lastErrors) / secs,
          quantile(buckets, lastBuckets, newRequests, 0.50), quantile(buckets, lastBuckets, newRequests, 0.99),
          quantile(buckets, lastBuckets, newRequests, 0.999), newForces / secs,
          newForces > 0 ? (batchEntries - lastBatchEntries) / newForces : 0,
          gauge("flotilla.raft.apply.lag"), count("flotilla.raft.leader.changes"), gauge("flotilla.raft.term"),
          gauge("flotilla.raft.commit.index"), gauge("flotilla.raft.applied.index"));
      synchronized (samples) {
        if (samples.size() == KEEP) {
          samples.pollFirst();
        }
        samples.addLast(s);
      }
    }
    lastNanos = now;
    lastRequests = requests;
    lastErrors = errors;
    lastForces = forces;
    lastBatchEntries = batchEntries;
    lastBuckets = buckets;
  }

  /** The last {@code n} samples, oldest first. */
  public List<Sample> last(int n) {
    synchronized (samples) {
      List<Sample> all = new ArrayList<>(samples);
      return all.subList(Math.max(0, all.size() - n), all.size());
    }
  }

  /**
   * The upper bound (ms) of the bucket where the {@code q} quantile of the requests of the last
   * interval falls. Bucket counts are cumulative ("le", as Prometheus exports them).
   */
  static double quantile(TreeMap<Double, Double> now, TreeMap<Double, Double> before, double total, double q) {
    if (total <= 0) {
      return Double.NaN;
    }
    double rank = q * total;
    for (var b : now.entrySet()) {
      if (b.getValue() - before.getOrDefault(b.getKey(), 0.0) >= rank) {
        return b.getKey();
      }
    }
    return now.isEmpty() ? Double.NaN : now.lastKey();
  }

  private double count(String name) {
    Counter c = registry.find(name).counter();
    return c == null ? 0 : c.count();
  }

  private double gauge(String name) {
    Gauge g = registry.find(name).gauge();
    return g == null ? Double.NaN : g.value();
  }
}
