package io.flotilla.server.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short chaos run in CI: three node processes, the register workload from 16 clients, SIGKILLs
 * and network partitions on a fixed seed for 35 s, then every check. Replay with
 * {@code -Dflotilla.seed=N}; a longer run is {@code bin/flotilla chaos} (docs/testing.md).
 */
class ChaosRunTest {
  @TempDir Path dir;

  /**
   * A base port in 10000-19999 whose 3 x 3 ports are free right now: below the kernel's ephemeral
   * range (32768+), so no outgoing connection can hold a killed node's port when it restarts.
   */
  private static int freeBase() {
    SplittableRandom rnd = new SplittableRandom();
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = 10_000 + 10 * rnd.nextInt(990);
      boolean free = true;
      for (int i = 0; i < 3 && free; i++) {
        for (int k = 0; k < 3 && free; k++) {
          try (ServerSocket s = new ServerSocket(base + 10 * i + k)) {
            s.setReuseAddress(true);
          } catch (java.io.IOException e) {
            free = false;
          }
        }
      }
      if (free) {
        return base;
      }
    }
    throw new IllegalStateException("no free port range in 10000-19999");
  }

  @Test
  void killsAndPartitionsLeaveALinearizableHistoryAndConvergedReplicas() throws Exception {
    long seed = Long.getLong("flotilla.seed", 3);
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
    ChaosSettings s = new ChaosSettings(3, Duration.ofSeconds(35), 16,
        List.of(FaultKind.KILL, FaultKind.PARTITION), seed, dir.resolve("run"), "register",
        Duration.ofSeconds(1), false, freeBase());
    ChaosRun.Outcome o;
    try {
      o = new ChaosRun(s, out).run();
    } finally {
      System.out.print(buf.toString(StandardCharsets.UTF_8));
    }
    String rerun = "seed " + seed + ": rerun with ./mvnw -q -B -pl server -am test"
        + " -Dtest=ChaosRunTest -Dsurefire.failIfNoSpecifiedTests=false -Dflotilla.seed=" + seed
        + "\n" + buf.toString(StandardCharsets.UTF_8);
    assertThat(o.passed()).as(rerun).isTrue();
    @SuppressWarnings("unchecked")
    Map<String, Object> faults = (Map<String, Object>) o.report().get("faultsInjected");
    @SuppressWarnings("unchecked")
    Map<String, Long> byKind = (Map<String, Long>) faults.get("byKind");
    assertThat(byKind).as(rerun).containsKeys("kill", "partition");
    @SuppressWarnings("unchecked")
    Map<String, Object> ops = (Map<String, Object>) o.report().get("operations");
    assertThat(((Number) ops.get("ok")).longValue()).as(rerun).isGreaterThan(500);
    assertThat(dir.resolve("run/history.jsonl")).isNotEmptyFile();
    assertThat(dir.resolve("run/report.json")).isNotEmptyFile();
    assertThat(dir.resolve("run/timeline.png")).isNotEmptyFile();
    assertThat(Files.readAllLines(dir.resolve("run/history.jsonl")).get(0))
        .startsWith("{\"process\":").contains("\"type\":\"invoke\"").contains("\"time\":");
  }
}
