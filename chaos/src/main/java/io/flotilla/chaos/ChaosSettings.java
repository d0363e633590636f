package io.flotilla.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One chaos run's parameters.
 *
 * @param faultInterval mean pause between a fault's recovery and the next fault (±50 %)
 * @param serializableReads also issue SERIALIZABLE reads (checked for plausibility only)
 * @param basePort node i listens on basePort+10(i-1) (client), +1 (peer), +2 (admin)
 * @param diskLoseAcknowledged disk faults also cut through the last, forced WAL record (a disk
 *                 losing acknowledged data: outside Raft's fault model, see docs/testing.md)
 * @param leaseReads the nodes serve LINEARIZABLE reads under the leader's lease (--lease-reads)
 * @param ranges the cluster is split into this many ranges before the clients start, at keys
 *               within the workload's key space, leaders spread over the nodes (1: no split)
 * @param compose null: a local cluster of separate processes; else the containers of this
 *               compose file, faults by Docker ({@link FaultKind#FOR_CONTAINERS})
 */
public record ChaosSettings(int nodes, Duration duration, int clients, List<FaultKind> faults,
    long seed, Path out, String workload, Duration faultInterval, boolean serializableReads,
    int basePort, boolean diskLoseAcknowledged, boolean leaseReads, int ranges,
    ComposeTarget compose) {

  /** The most ranges {@code --ranges} accepts. */
  public static final int MAX_RANGES = 256;

  /** A local cluster. */
  public ChaosSettings(int nodes, Duration duration, int clients, List<FaultKind> faults,
      long seed, Path out, String workload, Duration faultInterval, boolean serializableReads,
      int basePort, boolean diskLoseAcknowledged, boolean leaseReads, int ranges) {
    this(nodes, duration, clients, faults, seed, out, workload, faultInterval, serializableReads,
        basePort, diskLoseAcknowledged, leaseReads, ranges, null);
  }

  /** One range. */
  public ChaosSettings(int nodes, Duration duration, int clients, List<FaultKind> faults,
      long seed, Path out, String workload, Duration faultInterval, boolean serializableReads,
      int basePort, boolean diskLoseAcknowledged, boolean leaseReads) {
    this(nodes, duration, clients, faults, seed, out, workload, faultInterval, serializableReads,
        basePort, diskLoseAcknowledged, leaseReads, 1);
  }

  /** Without lease reads. */
  public ChaosSettings(int nodes, Duration duration, int clients, List<FaultKind> faults,
      long seed, Path out, String workload, Duration faultInterval, boolean serializableReads,
      int basePort, boolean diskLoseAcknowledged) {
    this(nodes, duration, clients, faults, seed, out, workload, faultInterval, serializableReads,
        basePort, diskLoseAcknowledged, false);
  }

  /** Without the out-of-model disk fault. */
  public ChaosSettings(int nodes, Duration duration, int clients, List<FaultKind> faults,
      long seed, Path out, String workload, Duration faultInterval, boolean serializableReads,
      int basePort) {
    this(nodes, duration, clients, faults, seed, out, workload, faultInterval, serializableReads,
        basePort, false);
  }

  public ChaosSettings {
    if (nodes != 3 && nodes != 5) {
      throw new IllegalArgumentException("--nodes must be 3 or 5, got " + nodes);
    }
    if (duration.isNegative() || duration.compareTo(Duration.ofSeconds(5)) < 0) {
      throw new IllegalArgumentException("--duration must be at least 5s, got " + duration);
    }
    if (clients < 1 || clients > 256) {
      throw new IllegalArgumentException("--clients must be 1..256, got " + clients);
    }
    if (faultInterval.isNegative() || faultInterval.isZero()) {
      throw new IllegalArgumentException("--fault-interval must be positive");
    }
    if (basePort < 1024 || basePort + 10 * nodes > 65_535) {
      throw new IllegalArgumentException("--base-port " + basePort + " leaves no room for "
          + nodes + " nodes");
    }
    if (ranges < 1 || ranges > MAX_RANGES) {
      throw new IllegalArgumentException("--ranges must be 1.." + MAX_RANGES + ", got " + ranges);
    }
    Workload.named(workload); // validates the name
    faults = List.copyOf(faults);
    if (compose != null) {
      List<FaultKind> local = faults.stream().filter(f -> !FaultKind.FOR_CONTAINERS.contains(f)).toList();
      if (!local.isEmpty()) {
        throw new IllegalArgumentException("--docker-compose: faults " + local.stream()
            .map(f -> f.label).toList() + " need local processes (the /fault port or the data"
            + " directory); against containers use " + FaultKind.FOR_CONTAINERS.stream()
            .map(f -> f.label).toList());
      }
      if (leaseReads) {
        throw new IllegalArgumentException("--lease-reads: the compose file's nodes decide their"
            + " own flags; add --lease-reads to its commands instead");
      }
    } else if (faults.contains(FaultKind.DISCONNECT)) {
      throw new IllegalArgumentException("the disconnect fault needs containers (--docker-compose);"
          + " a local cluster has partition instead");
    }
  }

  /**
   * Parses {@code 90s}, {@code 30m}, {@code 1h}, {@code 500ms}, a bare number of seconds, or an
   * ISO-8601 duration; anything else gets an error that says what is expected. Shared by every
   * command line option that takes a duration.
   */
  public static Duration parseDuration(String s) {
    String t = s.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.startsWith("p")) {
        return Duration.parse(s.trim().toUpperCase(java.util.Locale.ROOT));
      }
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      if (t.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      if (t.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1)));
      }
      return Duration.ofSeconds(Long.parseLong(t));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("'" + s + "' is not a duration; use e.g. 90s, 30m, 1h,"
          + " 500ms");
    }
  }
}
