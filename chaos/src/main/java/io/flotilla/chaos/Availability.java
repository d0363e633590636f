package io.flotilla.chaos;

import io.flotilla.checker.Operation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Availability over a run: acknowledged operations and latency per second, and for each fault the
 * longest stretch with no acknowledged write, from the fault's start to the next fault's start.
 */
final class Availability {
  /** One second of the run. */
  record Second(int second, int okOps, int okWrites, double meanLatencyMs, double p99LatencyMs) {}

  /** The longest stretch without an acknowledged write after one fault. */
  record Gap(int fault, String kind, double longestNoWriteMs) {}

  final List<Second> seconds;
  final List<Gap> gaps;

  private Availability(List<Second> seconds, List<Gap> gaps) {
    this.seconds = seconds;
    this.gaps = gaps;
  }

  static Availability of(List<Operation> ops, List<FaultWindow> faults, long runEnd) {
    int n = (int) (runEnd / 1_000_000_000L) + 1;
    List<List<Long>> latencies = new ArrayList<>();
    int[] okOps = new int[n];
    int[] okWrites = new int[n];
    for (int i = 0; i < n; i++) {
      latencies.add(new ArrayList<>());
    }
    List<Long> writeTimes = new ArrayList<>();
    for (Operation op : ops) {
      if (!op.ok()) {
        continue;
      }
      int s = (int) Math.min(n - 1, op.complete() / 1_000_000_000L);
      okOps[s]++;
      latencies.get(s).add(op.complete() - op.invoke());
      if (!op.isRead()) {
        okWrites[s]++;
        writeTimes.add(op.complete());
      }
    }
    List<Second> seconds = new ArrayList<>();
    for (int s = 0; s < n; s++) {
      long[] l = latencies.get(s).stream().mapToLong(Long::longValue).sorted().toArray();
      double mean = l.length == 0 ? 0 : Arrays.stream(l).average().orElse(0) / 1e6;
      double p99 = l.length == 0 ? 0 : l[Math.min(l.length - 1, (int) Math.ceil(l.length * 0.99) - 1)] / 1e6;
      seconds.add(new Second(s, okOps[s], okWrites[s], mean, p99));
    }
    long[] w = writeTimes.stream().mapToLong(Long::longValue).sorted().toArray();
    List<Gap> gaps = new ArrayList<>();
    for (int i = 0; i < faults.size(); i++) {
      FaultWindow f = faults.get(i);
      long to = i + 1 < faults.size() ? faults.get(i + 1).start() : runEnd;
      long prev = f.start();
      long longest = 0;
      int idx = Arrays.binarySearch(w, f.start());
      idx = idx < 0 ? -idx - 1 : idx;
      for (; idx < w.length && w[idx] <= to; idx++) {
        longest = Math.max(longest, w[idx] - prev);
        prev = w[idx];
      }
      longest = Math.max(longest, to - prev);
      gaps.add(new Gap(f.seq(), f.kind(), longest / 1e6));
    }
    return new Availability(seconds, gaps);
  }

  Map<String, Object> summary() {
    Map<String, Object> out = new LinkedHashMap<>();
    Gap worst = gaps.stream().max((a, b) -> Double.compare(a.longestNoWriteMs(), b.longestNoWriteMs()))
        .orElse(null);
    out.put("longestNoWriteMs", worst == null ? 0 : Math.round(worst.longestNoWriteMs()));
    out.put("longestNoWriteAfterFault", worst == null ? null : worst.fault() + " " + worst.kind());
    Map<String, Double> byKind = new LinkedHashMap<>();
    for (Gap g : gaps) {
      byKind.merge(g.kind(), g.longestNoWriteMs(), Math::max);
    }
    byKind.replaceAll((k, v) -> (double) Math.round(v));
    out.put("longestNoWriteMsByFaultKind", byKind);
    out.put("perFault", gaps);
    out.put("perSecond", seconds);
    return out;
  }
}
