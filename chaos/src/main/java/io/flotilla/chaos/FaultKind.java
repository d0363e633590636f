package io.flotilla.chaos;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The faults a chaos run can inject, by their {@code --faults} names. */
public enum FaultKind {
  KILL("kill"),
  KILL_LEADER("kill-leader"),
  PAUSE("pause"),
  PARTITION("partition"),
  RESTART_ALL("restart-all"),
  DISK("disk"),
  /** The Raft loop of a node (the leader half the time) stops, and half the time it is also cut off. */
  STALL("stall"),
  /**
   * The range holding a key the clients use now or next splits there (the workload picks a legal
   * split point); a refused or timed-out split is recorded, not an anomaly.
   */
  SPLIT("split"),
  /**
   * A node's container leaves its network ({@code docker network disconnect}; the leader half the
   * time) and joins it again, perhaps at another address: only against containers.
   */
  DISCONNECT("disconnect");

  /** What a run against containers (--docker-compose) can inject: Docker's faults and requests. */
  public static final List<FaultKind> FOR_CONTAINERS =
      List.of(KILL, KILL_LEADER, PAUSE, RESTART_ALL, DISCONNECT, SPLIT);

  public final String label;

  FaultKind(String label) {
    this.label = label;
  }

  /** Parses a comma-separated list such as {@code kill,pause,partition}. */
  public static List<FaultKind> parseList(String spec) {
    List<FaultKind> out = new ArrayList<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      FaultKind k = Arrays.stream(values()).filter(v -> v.label.equals(p)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("unknown fault '" + p + "'; expected "
              + Arrays.stream(values()).map(v -> v.label).toList()));
      if (!out.contains(k)) {
        out.add(k);
      }
    }
    return out;
  }
}
