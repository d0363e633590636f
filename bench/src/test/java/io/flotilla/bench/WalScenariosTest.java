package io.flotilla.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The quick benchmark's code runs and produces sane results. Never asserts on performance: the
 * numbers depend on the machine and on whatever else it is doing.
 */
class WalScenariosTest {

  private static WalScenarios.Settings tiny(Path dir) {
    return new WalScenarios.Settings(dir, Duration.ofMillis(50), Duration.ofMillis(200), 256,
        List.of(1), 1, 16, 1L << 20, 1);
  }

  @Test
  @Timeout(10)
  void closedLoopWithOneAppenderMakesProgressAndCleansUp(@TempDir Path dir) throws Exception {
    ScenarioResult r = WalScenarios.walClosedLoop(tiny(dir), 1);

    assertThat(r.ops()).isPositive();
    assertThat(r.latency().getTotalCount()).isEqualTo(r.ops());
    assertThat(r.payloadBytes()).isEqualTo(r.ops() * 256);
    assertThat(r.diskBytes()).isEqualTo(r.ops() * (256 + WalScenarios.RECORD_HEADER_BYTES));
    assertThat(r.elapsedNanos()).isGreaterThanOrEqualTo(Duration.ofMillis(200).toNanos());
    assertThat(r.opsPerSecond()).isPositive();
    try (var left = Files.list(dir)) {
      assertThat(left).as("scratch directories are deleted").isEmpty();
    }
  }

  @Test
  @Timeout(10)
  void pipelinedAndRawScenariosMakeProgress(@TempDir Path dir) throws Exception {
    WalScenarios.Settings s = tiny(dir);

    ScenarioResult pipelined = WalScenarios.walPipelined(s, 1, 16);
    ScenarioResult raw = WalScenarios.raw(s, RawFile.Layout.PREALLOCATED, 256);

    assertThat(pipelined.ops()).isPositive();
    assertThat(pipelined.latency().getTotalCount()).isEqualTo(pipelined.ops());
    assertThat(raw.ops()).isPositive();
    assertThat(raw.name()).isEqualTo("raw-256B-prealloc");
  }

  @Test
  void reportPrintsEveryScenarioAndTheGoals() {
    List<ScenarioResult> results = List.of(
        fake("raw-1MiB-prealloc", 100, 1 << 20, 0, 2_000_000),
        fake("raw-256B-prealloc", 500, 256, 0, 1_000_000),
        fake("wal-closed-1", 400, 256, WalScenarios.RECORD_HEADER_BYTES, 1_100_000),
        fake("wal-closed-64", 20_000, 256, WalScenarios.RECORD_HEADER_BYTES, 3_000_000));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    WalBenchReport report = new WalBenchReport(out);
    report.header();
    results.forEach(report::row);
    report.goals(results, 256);

    String text = bytes.toString(StandardCharsets.UTF_8);
    assertThat(text).contains("raw-1MiB-prealloc", "raw-256B-prealloc", "wal-closed-1",
        "wal-closed-64", "Bandwidth vs", "Latency of wal-closed-1");
  }

  @Test
  void roundsOfOneScenarioMergeIntoOne() {
    ScenarioResult a = fake("wal-closed-1", 100, 256, WalScenarios.RECORD_HEADER_BYTES, 1_000_000);
    ScenarioResult b = fake("wal-closed-1", 300, 256, WalScenarios.RECORD_HEADER_BYTES, 3_000_000);

    ScenarioResult m = a.merge(b);

    assertThat(m.ops()).isEqualTo(400);
    assertThat(m.elapsedNanos()).isEqualTo(2_000_000_000L);
    assertThat(m.opsPerSecond()).isEqualTo(200.0);
    assertThat(m.latency().getTotalCount()).isEqualTo(400);
    assertThat(a.latency().getTotalCount()).as("inputs unchanged").isEqualTo(100);
  }

  /** A result of {@code ops} writes in one second, all with latency {@code nanos}. */
  private static ScenarioResult fake(String name, long ops, int bytes, int header, long nanos) {
    Histogram h = new Histogram(3);
    h.recordValueWithCount(nanos, ops);
    return new ScenarioResult(name, name, 1, 1, ops, ops * bytes, ops * (bytes + header),
        1_000_000_000L, h);
  }

  @Test
  void cliHelpWorks() {
    StringWriter text = new StringWriter();

    assertThat(quiet(text).execute("--help")).isZero();
    assertThat(quiet(text).execute("wal-bench", "--help")).isZero();
    assertThat(quiet(text).execute("wal-bench", "--duration", "soon")).isEqualTo(2);
    assertThat(quiet(text).execute()).as("a subcommand is required").isEqualTo(2);
    assertThat(text.toString()).contains("wal-bench", "--appenders", "not a duration");
  }

  private static CommandLine quiet(StringWriter sink) {
    PrintWriter w = new PrintWriter(sink, true);
    return FlotillaCli.commandLine().setOut(w).setErr(w);
  }
}
