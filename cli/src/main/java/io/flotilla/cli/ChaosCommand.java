package io.flotilla.cli;

import io.flotilla.chaos.ChaosRun;
import io.flotilla.chaos.ChaosSettings;
import io.flotilla.chaos.ComposeTarget;
import io.flotilla.chaos.FaultKind;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/flotilla chaos}: a local cluster under faults, its history checked. */
@Command(name = "chaos", mixinStandardHelpOptions = true,
    description = "Starts a local cluster (separate processes on 127.0.0.1, fault injection on),"
        + " runs a concurrent workload through the Java client while injecting faults drawn from"
        + " the seed, heals, and checks the history: linearizability, no lost acknowledged write,"
        + " replica convergence, exact totals, availability. Writes history.jsonl, report.json and"
        + " timeline.png to --out. Exit code 0 only when every check passes.")
final class ChaosCommand implements Callable<Integer> {
  @Option(names = "--nodes", defaultValue = "3", description = "3 or 5. Default: ${DEFAULT-VALUE}.")
  int nodes;

  @Option(names = "--duration", defaultValue = "120s",
      description = "How long faults and clients run (90s, 30m, 1h). Default: ${DEFAULT-VALUE}.")
  String duration;

  @Option(names = "--clients", defaultValue = "16",
      description = "Concurrent client threads. Default: ${DEFAULT-VALUE}.")
  int clients;

  static final String DEFAULT_FAULTS = "kill,kill-leader,pause,partition,restart-all,disk,stall,split";

  @Option(names = "--faults", defaultValue = DEFAULT_FAULTS,
      description = "Comma-separated: kill, kill-leader, pause, partition, restart-all, disk"
          + " (range 1's log), stall (a node's Raft loop held, half the time while it is cut off),"
          + " split (the range holding a key in use splits there), disconnect (containers only:"
          + " docker network disconnect). Empty: none. Default: ${DEFAULT-VALUE}; with"
          + " --docker-compose: kill,kill-leader,pause,restart-all,disconnect,split.")
  String faults;

  @Option(names = "--docker-compose", paramLabel = "FILE",
      description = "Run against the containers of this compose file (deploy/docker-compose.yml:"
          + " services node1..node5, ports published) instead of local processes: brought up as"
          + " its own project, faults by docker kill/pause/network disconnect, logs saved to"
          + " --out's cluster/, taken down with its volumes at the end. Build the image first.")
  Path dockerCompose;

  @Option(names = "--docker-project", defaultValue = "flotillachaos",
      description = "With --docker-compose: the compose project to create (must not exist)."
          + " Default: ${DEFAULT-VALUE}.")
  String dockerProject;

  @Option(names = "--ranges", defaultValue = "1",
      description = "Split the cluster into this many ranges (1..256) before the clients start,"
          + " at keys within the workload's key space (never between one transaction's keys),"
          + " leaders spread over the nodes. Default: ${DEFAULT-VALUE}.")
  int ranges;

  @Option(names = "--fault-interval", defaultValue = "3s",
      description = "Mean pause between one fault's recovery and the next (±50%%)."
          + " Default: ${DEFAULT-VALUE}.")
  String faultInterval;

  @Option(names = "--workload", defaultValue = "register",
      description = "register (put/get/cas/delete), counter (incr/get) or bank (txn transfers)."
          + " Default: ${DEFAULT-VALUE}.")
  String workload;

  @Option(names = "--serializable-reads",
      description = "Also issue SERIALIZABLE reads; recorded in serializable.jsonl and checked"
          + " only for plausibility (the value read was written at some point).")
  boolean serializableReads;

  @Option(names = "--disk-lose-acknowledged",
      description = "Disk faults also cut through the last, forced WAL record: a disk losing"
          + " acknowledged data, outside Raft's fault model (see docs/testing.md).")
  boolean diskLoseAcknowledged;

  @Option(names = "--lease-reads",
      description = "Start the nodes with --lease-reads: LINEARIZABLE reads at the leader are"
          + " served under its lease (the stall fault tests exactly that).")
  boolean leaseReads;

  @Option(names = "--seed", description = "Seed of the workload and the fault schedule."
      + " Default: random (printed).")
  Long seed;

  @Option(names = "--base-port", defaultValue = "7100",
      description = "Node N listens on BASE+10(N-1) (client), +1 (peer), +2 (admin). Keep the"
          + " ports below the kernel's ephemeral range (usually 32768+): there an outgoing"
          + " connection can take a killed node's port and its restart fails to bind."
          + " Default: ${DEFAULT-VALUE}.")
  int basePort;

  @Option(names = "--out", required = true,
      description = "A new directory for history.jsonl, report.json, timeline.png and cluster/"
          + " (node data and logs).")
  Path out;

  @Override
  public Integer call() throws Exception {
    long s = seed != null ? seed : new java.security.SecureRandom().nextLong() & Long.MAX_VALUE;
    ChaosSettings settings;
    try {
      ComposeTarget compose = dockerCompose == null ? null : new ComposeTarget(dockerCompose, dockerProject);
      if (compose != null && faults.equals(DEFAULT_FAULTS)) {
        faults = String.join(",", FaultKind.FOR_CONTAINERS.stream().map(f -> f.label).toList());
      }
      settings = new ChaosSettings(nodes, ChaosSettings.parseDuration(duration),
          clients, FaultKind.parseList(faults), s, out, workload,
          ChaosSettings.parseDuration(faultInterval), serializableReads, basePort,
          diskLoseAcknowledged, leaseReads, ranges, compose);
    } catch (IllegalArgumentException e) {
      System.err.println("flotilla chaos: " + e.getMessage());
      return 2;
    }
    if (dockerCompose == null && basePort + 10 * nodes >= 32768) {
      System.err.println("flotilla chaos: warning: ports from " + basePort + " reach the kernel's"
          + " ephemeral range (32768+); a restarted node may fail to bind its port");
    }
    ChaosRun.Outcome o = new ChaosRun(settings, System.out).run();
    return o.passed() ? 0 : 1;
  }
}
