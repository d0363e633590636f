package io.flotilla.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The stage-by-stage benchmarks run: one short iteration each, in this JVM (no fork), no warmup.
 * Checks only that each produced a result; the numbers of so short a run mean nothing and are not
 * looked at. About 15 s, most of it starting three nodes with RocksDB for the full path.
 */
class BenchmarkSmokeTest {

  private static Collection<RunResult> smoke(String include) throws RunnerException {
    Options opts = new OptionsBuilder()
        .include(include)
        .forks(0)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(300))
        .timeout(TimeValue.seconds(60))
        .shouldFailOnError(true)
        .build();
    return new Runner(opts).run();
  }

  @Test
  void codecAndPeerLinkRun() throws RunnerException {
    Collection<RunResult> results = smoke("io.flotilla.bench.(CodecBenchmark|PeerLinkBenchmark)\\.");
    assertThat(results).hasSize(5);
    results.forEach(r -> assertThat(r.getPrimaryResult().getSampleCount()).isPositive());
  }

  @Test
  void fullPathRuns() throws RunnerException {
    Collection<RunResult> results = smoke("io.flotilla.bench.FullPathBenchmark.puts");
    assertThat(results).hasSize(1);
    assertThat(results.iterator().next().getPrimaryResult().getSampleCount()).isPositive();
  }
}
