package io.flotilla.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Prints quick-benchmark results as a table, then the log's numbers as ratios of the raw
 * baselines next to the goals of the issue. The verdicts are information for a reader; nothing
 * fails on them.
 */
public final class WalBenchReport {
  /** Goal: with 64 appenders the log sustains at least this share of raw 1 MiB bandwidth. */
  public static final double BANDWIDTH_GOAL = 0.80;
  /** Goal: one appender's latency is at most this multiple of one raw record write + force. */
  public static final double LATENCY_GOAL = 1.2;

  private final PrintStream out;

  public WalBenchReport(PrintStream out) {
    this.out = out;
  }

  public void header() {
    out.printf(Locale.ROOT, "%-26s %4s %6s %10s %9s %9s %8s %8s %8s %9s%n", "scenario", "thr",
        "window", "ops/s", "payload", "to disk", "p50", "p99", "p99.9", "max");
    out.printf(Locale.ROOT, "%-26s %4s %6s %10s %9s %9s %8s %8s %8s %9s%n", "", "", "", "",
        "MB/s", "MB/s", "ms", "ms", "ms", "ms");
  }

  public void row(ScenarioResult r) {
    out.printf(Locale.ROOT, "%-26s %4d %6d %10.0f %9.2f %9.2f %8.3f %8.3f %8.3f %9.3f%n",
        r.name(), r.threads(), r.window(), r.opsPerSecond(), r.payloadMBps(), r.diskMBps(),
        r.percentileMillis(50), r.percentileMillis(99), r.percentileMillis(99.9), r.maxMillis());
    out.flush();
  }

  /** The goal section: bandwidth of every log scenario and one appender's latency, as ratios. */
  public void goals(List<ScenarioResult> results, int payloadBytes) {
    out.println();
    out.println("MB = 10^6 bytes. 'to disk' counts the log's 44-byte record headers; raw writes"
        + " have none.");
    Optional<ScenarioResult> bw = find(results, WalScenarios.rawName(RawFile.Layout.PREALLOCATED,
        WalScenarios.BIG_WRITE_BYTES));
    Optional<ScenarioResult> rec = find(results, WalScenarios.rawName(
        RawFile.Layout.PREALLOCATED, payloadBytes));
    bw.ifPresent(b -> {
      out.printf(Locale.ROOT, "%nBandwidth vs %s (%.2f MB/s); goal for 64 appenders >= %.0f%%%n",
          b.name(), b.diskMBps(), BANDWIDTH_GOAL * 100);
      for (ScenarioResult r : results) {
        if (!r.name().startsWith("wal-")) {
          continue;
        }
        double disk = r.diskMBps() / b.diskMBps();
        double payload = r.payloadMBps() / b.diskMBps();
        String verdict = r.name().equals("wal-closed-64")
            ? (disk >= BANDWIDTH_GOAL ? "  goal met" : "  goal NOT met") : "";
        out.printf(Locale.ROOT, "  %-26s %7.2f MB/s to disk = %5.1f%%  (payload %5.1f%%)%s%n",
            r.name(), r.diskMBps(), disk * 100, payload * 100, verdict);
      }
    });
    Optional<ScenarioResult> one = find(results, "wal-closed-1");
    if (rec.isPresent() && one.isPresent()) {
      ScenarioResult r = rec.get();
      ScenarioResult w = one.get();
      double mean = w.meanMillis() / r.meanMillis();
      double p50 = w.percentileMillis(50) / r.percentileMillis(50);
      double p99 = w.percentileMillis(99) / r.percentileMillis(99);
      out.printf(Locale.ROOT, "%nLatency of wal-closed-1 vs %s; goal <= %.1fx%n", r.name(),
          LATENCY_GOAL);
      out.printf(Locale.ROOT, "  mean %.3f / %.3f ms = %.2fx%s%n", w.meanMillis(), r.meanMillis(),
          mean, mean <= LATENCY_GOAL ? "  goal met" : "  goal NOT met");
      out.printf(Locale.ROOT, "  p50  %.3f / %.3f ms = %.2fx%n", w.percentileMillis(50),
          r.percentileMillis(50), p50);
      out.printf(Locale.ROOT, "  p99  %.3f / %.3f ms = %.2fx%n", w.percentileMillis(99),
          r.percentileMillis(99), p99);
    }
    out.flush();
  }

  private static Optional<ScenarioResult> find(List<ScenarioResult> results, String name) {
    return results.stream().filter(r -> r.name().equals(name)).findFirst();
  }
}
