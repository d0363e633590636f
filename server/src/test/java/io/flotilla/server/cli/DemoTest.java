package io.flotilla.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes in separate JVMs on loopback: clients increment a counter while the leader is
 * killed with SIGKILL twice and restarted; re-election, continued writes, catch-up, and at the end
 * every replica holds exactly the acknowledged increments.
 */
class DemoTest {
  @TempDir Path dir;

  /** A base port whose 3 x 3 ports are free right now (nodes bind them a moment later). */
  static int freeBase() throws Exception {
    SplittableRandom rnd = new SplittableRandom();
    for (int attempt = 0; attempt < 50; attempt++) {
      int base = 20_000 + 10 * rnd.nextInt(3_000);
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
    throw new IllegalStateException("no free port range");
  }

  @Test
  void killingTheLeaderTwiceLosesNoAcknowledgedIncrement() throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Demo.Outcome o = new Demo(new Demo.Settings(3, 4, 2, Duration.ofMillis(1500), freeBase(), dir),
        new PrintStream(log, true, StandardCharsets.UTF_8)).run();
    String transcript = log.toString(StandardCharsets.UTF_8);
    assertThat(o.ok()).as(transcript).isTrue();
    assertThat(o.acknowledged()).as(transcript).isPositive();
    assertThat(o.replicaValues()).as(transcript).hasSize(3).containsOnly(o.replicaValues().get(0));
    assertThat(transcript).contains("kill -9 of the leader").contains("is the new leader");
  }
}
