package io.flotilla.loadgen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;

/** The load generator's one-line JSON result, the same for every target system. */
public final class Report {
  private Report() {}

  /** {@code describe}: what was run (target, mix, concurrency...), first in the line. */
  public static String json(Map<String, Object> describe, LoadGenerator.Result r) throws JsonProcessingException {
    Histogram h = r.latency();
    Map<String, Object> json = new LinkedHashMap<>(describe);
    json.put("seconds", round(r.seconds()));
    json.put("ops", r.ops());
    json.put("opsPerSec", round(r.opsPerSecond()));
    Map<String, Object> lat = new LinkedHashMap<>();
    lat.put("p50", ms(h.getValueAtPercentile(50)));
    lat.put("p90", ms(h.getValueAtPercentile(90)));
    lat.put("p99", ms(h.getValueAtPercentile(99)));
    lat.put("p999", ms(h.getValueAtPercentile(99.9)));
    lat.put("max", ms(h.getMaxValue()));
    lat.put("mean", round(h.getMean() / 1e6));
    json.put("latencyMs", lat);
    json.put("byOp", r.byOp());
    json.put("errors", r.errors());
    return new ObjectMapper().writeValueAsString(json);
  }

  /** The latency histogram as an HdrHistogram log (nanoseconds), for plotting. */
  public static void writeHistogram(Path file, String comment, Histogram h) throws IOException {
    try (PrintStream f = new PrintStream(Files.newOutputStream(file))) {
      HistogramLogWriter w = new HistogramLogWriter(f);
      w.outputLogFormatVersion();
      w.outputComment(comment);
      w.outputIntervalHistogram(h);
    }
  }

  private static double ms(long nanos) {
    return round(nanos / 1e6);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
