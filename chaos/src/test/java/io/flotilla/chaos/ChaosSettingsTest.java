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
  void rangesAreCheckedAndDefaultToOne() {
    assertThat(settings(3, "register").ranges()).isEqualTo(1);
    assertThat(ranges(1).ranges()).isEqualTo(1);
    assertThat(ranges(256).ranges()).isEqualTo(256);
    assertThatThrownBy(() -> ranges(0)).hasMessage("--ranges must be 1..256, got 0");
    assertThatThrownBy(() -> ranges(257)).hasMessage("--ranges must be 1..256, got 257");
    assertThatThrownBy(() -> ranges(-3)).hasMessageContaining("--ranges must be 1..256");
  }

  @Test
  void theSplitFaultHasItsName() {
    assertThat(FaultKind.parseList("split,kill")).containsExactly(FaultKind.SPLIT, FaultKind.KILL);
    assertThatThrownBy(() -> FaultKind.parseList("splt")).hasMessageContaining("split");
  }

  private static ChaosSettings ranges(int ranges) {
    return new ChaosSettings(3, Duration.ofSeconds(60), 4, List.of(FaultKind.SPLIT), 1,
        Path.of("/tmp/x"), "bank", Duration.ofSeconds(2), false, 41000, false, false, ranges);
  }

  @Test
  void nodesAndWorkloadAreChecked() {
    assertThat(settings(5, "bank").nodes()).isEqualTo(5);
    assertThatThrownBy(() -> settings(4, "register")).hasMessageContaining("--nodes must be 3 or 5");
    assertThatThrownBy(() -> settings(3, "queue")).hasMessageContaining("unknown workload 'queue'");
  }

  private static ChaosSettings containers(String faults, boolean leaseReads) {
    return new ChaosSettings(3, Duration.ofSeconds(60), 4, FaultKind.parseList(faults), 1,
        Path.of("/tmp/x"), "register", Duration.ofSeconds(2), false, 41000, false, leaseReads, 1,
        new ComposeTarget(Path.of("deploy/docker-compose.yml"), "flotillachaos"));
  }

  @Test
  void againstContainersOnlyDockersFaultsAreAccepted() {
    assertThat(containers("kill,kill-leader,pause,restart-all,disconnect,split", false).faults())
        .containsExactlyElementsOf(FaultKind.FOR_CONTAINERS);
    assertThatThrownBy(() -> containers("kill,partition,disk", false))
        .hasMessageContaining("[partition, disk] need local processes")
        .hasMessageContaining("disconnect");
    assertThatThrownBy(() -> containers("kill", true)).hasMessageContaining("--lease-reads");
    assertThatThrownBy(() -> new ComposeTarget(Path.of("x.yml"), "Bad Name"))
        .hasMessageContaining("--docker-project");
  }

  @Test
  void theDisconnectFaultNeedsContainers() {
    assertThatThrownBy(() -> new ChaosSettings(3, Duration.ofSeconds(60), 4,
        List.of(FaultKind.DISCONNECT), 1, Path.of("/tmp/x"), "register", Duration.ofSeconds(2),
        false, 41000)).hasMessageContaining("disconnect fault needs containers (--docker-compose)");
  }

  @Test
  void aMissingComposeFileIsNamed() {
    assertThatThrownBy(() -> new ComposeProcesses(Path.of("/nonexistent/compose.yml"), "p", 3,
        Path.of("/tmp/x"))).hasMessageContaining("no compose file at /nonexistent/compose.yml");
  }
}
