package io.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.server.local.PortRanges;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes in separate JVMs on loopback: clients increment a counter while the leader is
 * killed with SIGKILL twice and restarted; re-election, continued writes, catch-up, and at the end
 * every replica holds exactly the acknowledged increments.
 */
class DemoTest {
  @TempDir Path dir;

  static int freeBase() {
    return PortRanges.freeBase(20_000, 32_000);
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
