package io.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchCommandTest {
  @Test
  void durationsParse() {
    assertThat(BenchCommand.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(BenchCommand.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(BenchCommand.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(BenchCommand.parse("7")).isEqualTo(Duration.ofSeconds(7));
    assertThatThrownBy(() -> BenchCommand.parse("soon")).hasMessageContaining("is not a duration");
  }

  @Test
  void badOptionsExitWithUsageErrorsBeforeTouchingAnyCluster() {
    CommandLine cmd = new CommandLine(new BenchCommand());
    assertThat(cmd.execute("--endpoints", "127.0.0.1:1", "--mix", "fly=1")).isEqualTo(64);
    assertThat(cmd.execute("--endpoints", "127.0.0.1:1", "--key-dist", "pareto")).isEqualTo(64);
    assertThat(cmd.execute("--endpoints", "127.0.0.1:1", "--concurrency", "0")).isEqualTo(64);
    assertThat(cmd.execute("--endpoints", "127.0.0.1:1", "--target", "nosuchdb")).isEqualTo(64);
    assertThat(cmd.execute("--local", "3", "--target", "etcd")).isEqualTo(64);
  }
}
