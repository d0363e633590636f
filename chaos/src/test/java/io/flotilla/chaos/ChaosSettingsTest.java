package io.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad chaos options get clear errors. */
class ChaosSettingsTest {
  private static ChaosSettings settings(int nodes, String workload) {
    return new ChaosSettings(nodes, Duration.ofSeconds(60), 4, List.of(FaultKind.KILL), 1,
        Path.of("/tmp/x"), workload, Duration.ofSeconds(2), false, 41000);
  }

  @Test
  void durationsParse() {
    assertThat(ChaosSettings.parseDuration("120s")).isEqualTo(Duration.ofSeconds(120));
    assertThat(ChaosSettings.parseDuration("30m")).isEqualTo(Duration.ofMinutes(30));
    assertThat(ChaosSettings.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(ChaosSettings.parseDuration("PT1M")).isEqualTo(Duration.ofMinutes(1));
    assertThatThrownBy(() -> ChaosSettings.parseDuration("soon"))
        .hasMessageContaining("'soon' is not a duration");
  }

  @Test
  void faultsParseAndUnknownOnesAreNamed() {
    assertThat(FaultKind.parseList("kill, kill-leader,disk,kill"))
        .containsExactly(FaultKind.KILL, FaultKind.KILL_LEADER, FaultKind.DISK);
    assertThat(FaultKind.parseList("")).isEmpty();
    assertThatThrownBy(() -> FaultKind.parseList("kill,meteor"))
        .hasMessageContaining("unknown fault 'meteor'").hasMessageContaining("restart-all");
  }

  @Test
  void nodesAndWorkloadAreChecked() {
    assertThat(settings(5, "bank").nodes()).isEqualTo(5);
    assertThatThrownBy(() -> settings(4, "register")).hasMessageContaining("--nodes must be 3 or 5");
    assertThatThrownBy(() -> settings(3, "queue")).hasMessageContaining("unknown workload 'queue'");
  }
}
