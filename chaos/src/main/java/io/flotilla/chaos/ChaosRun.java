package io.flotilla.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flotilla.checker.History;
import io.flotilla.checker.LinearizabilityChecker;
import io.flotilla.checker.Operation;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.RangePresplit;
import io.flotilla.client.proto.RangeListResult;
import io.flotilla.server.local.LocalCluster;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * A whole chaos run: start a local cluster (separate JVMs, fault injection on) or the containers of
 * a compose file ({@link ComposeProcesses}), run the workload's
 * clients while the {@link Nemesis} injects faults, heal, read every key once more, wait for the
 * replicas to converge, then check: (1) the history is linearizable, (2) no acknowledged write was
 * lost (the final reads are part of that history), (3) equal applied indexes carry equal state
 * digests, (4) counter and bank totals are exact, (5) availability, plotted. Writes
 * {@code history.jsonl}, {@code report.json} and {@code timeline.png} to the output directory.
 */
public final class ChaosRun {
  /** The verdict and the report that {@code report.json} holds. */
  public record Outcome(boolean passed, Map<String, Object> report) {}

  private final ChaosSettings s;
  private final PrintStream out;
  private final long t0 = System.nanoTime();

  public ChaosRun(ChaosSettings settings, PrintStream out) {
    this.s = settings;
    this.out = out;
  }

  private void say(String fmt, Object... args) {
    out.printf("[%7.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(fmt, args));
    out.flush();
  }

  public Outcome run() throws Exception {
    Files.createDirectories(s.out());
    Path data = s.out().resolve("cluster");
    if (Files.exists(data)) {
      throw new IllegalArgumentException(data + " exists: give every run a fresh --out directory");
    }
    Workload workload = Workload.named(s.workload());
    SplittableRandom master = new SplittableRandom(s.seed());
    SplittableRandom nemesisRandom = master.split();
    String faultList = s.faults().stream().map(f -> f.label).collect(Collectors.joining(","));
    String rerun = String.format("bin/flotilla chaos --nodes %d --ranges %d --duration %ds"
        + " --clients %d --faults %s --workload %s --seed %d --fault-interval %dms%s%s --out DIR",
        s.nodes(), s.ranges(), s.duration().toSeconds(), s.clients(),
        faultList.isEmpty() ? "''" : faultList, s.workload(),
        s.seed(), s.faultInterval().toMillis(), s.serializableReads() ? " --serializable-reads" : "",
        s.diskLoseAcknowledged() ? " --disk-lose-acknowledged" : "")
        + (s.leaseReads() ? " --lease-reads" : "")
        + (s.compose() != null ? " --docker-compose " + s.compose().file() + " --docker-project "
            + s.compose().project() : "");
    say("seed %d; rerun: %s", s.seed(), rerun);
    // Started before the clients are made: they need the nodes' addresses (a container's
    // published ports are known once it runs).
    try (NodeProcesses cluster = start(data);
        History history = HistoryJsonl.open(s.out().resolve("history.jsonl"), t0);
        History serializable = HistoryJsonl.open(s.serializableReads()
            ? s.out().resolve("serializable.jsonl") : null, t0);
        FlotillaClient client = new FlotillaClient(options(cluster));
        FlotillaClient finalClient = new FlotillaClient(options(cluster));
        FlotillaClient nemesisClient = new FlotillaClient(options(cluster))) {
      ClusterControl control = new ClusterControl(cluster);
      int leader = control.awaitHealthy(Duration.ofSeconds(90));
      if (leader == 0) {
        throw new IllegalStateException("the cluster did not elect a leader within 90 s; see "
            + data + "/node*.log");
      }
      if (s.ranges() > 1) {
        presplit(nemesisClient, workload);
      }
      say("node %d leads; %d clients run the %s workload for %ds", leader, s.clients(),
          workload.name(), s.duration().toSeconds());

      AtomicLong lastOkWrite = new AtomicLong(-1);
      AtomicBoolean running = new AtomicBoolean(true);
      List<Thread> threads = new ArrayList<>();
      List<Throwable> crashes = new java.util.concurrent.CopyOnWriteArrayList<>();
      Map<String, LongAdder> errors = new ConcurrentHashMap<>();
      for (int i = 0; i < s.clients(); i++) {
        Worker w = new Worker(client, master.split(), history,
            s.serializableReads() ? serializable : null, lastOkWrite, errors);
        Thread t = new Thread(() -> {
          try {
            while (running.get()) {
              workload.step(w);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (Throwable e) {
            crashes.add(e);
          }
        }, "chaos-client-" + i);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }

      Nemesis nemesis = new Nemesis(control, s.faults(), nemesisRandom, s.faultInterval(),
          history, lastOkWrite, line -> say("%s", line), s.diskLoseAcknowledged(), nemesisClient,
          workload);
      long until = history.now() + s.duration().toNanos();
      nemesis.run(until);
      while (history.now() < until) {
        Thread.sleep(Math.max(1, (until - history.now()) / 1_000_000)); // the run's remaining time
      }
      say("faults over; healing");
      List<String> anomalies = new ArrayList<>(nemesis.anomalies());
      List<Integer> unhealed = control.healNetwork(Duration.ofSeconds(30));
      if (!unhealed.isEmpty()) {
        anomalies.add("could not heal the network on nodes " + unhealed);
      }
      cluster.healAll();
      for (int i = 1; i <= s.nodes(); i++) {
        if (!cluster.alive(i)) {
          cluster.start(i);
        }
      }
      if (control.awaitHealthy(Duration.ofSeconds(90)) == 0) {
        anomalies.add("after healing, the cluster was not whole within 90 s");
      }
      running.set(false);
      for (Thread t : threads) {
        t.join(60_000);
        if (t.isAlive()) {
          anomalies.add(t.getName() + " still running 60 s after the workload stopped");
          t.interrupt();
        }
      }
      for (Throwable e : crashes) {
        anomalies.add("a client thread crashed: " + e);
      }
      long runEnd = history.now();

      // (2) The final read of every key: part of the history, so the linearizability check
      // proves no acknowledged write was lost.
      List<String> keys = workload.keys();
      List<String> unread = java.util.Collections.synchronizedList(new ArrayList<>());
      List<Thread> readers = new ArrayList<>();
      java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
      for (int i = 0; i < s.clients(); i++) {
        Worker reader = new Worker(finalClient, master.split(), history, null, lastOkWrite,
            errors);
        Thread t = new Thread(() -> {
          try {
            for (int k = next.getAndIncrement(); k < keys.size(); k = next.getAndIncrement()) {
              boolean ok = false;
              for (int attempt = 0; attempt < 10 && !ok; attempt++) {
                ok = workload.finalRead(reader, keys.get(k));
              }
              if (!ok) {
                unread.add(keys.get(k));
              }
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }, "chaos-final-read-" + i);
        t.start();
        readers.add(t);
      }
      for (Thread t : readers) {
        t.join();
      }
      say("final reads of %d keys done (%d failed)", keys.size(), unread.size());
      history.flush();

      Map<String, Object> convergence = RangeConvergence.await(control, Duration.ofSeconds(90));
      say("replicas: %s of %s ranges converged%s", convergence.get("converged"),
          convergence.get("ranges"), Boolean.TRUE.equals(convergence.get("ok")) ? ""
              : " " + convergence);

      List<Operation> ops = Operation.pair(history.events());
      List<Operation> serializableOps = Operation.pair(serializable.events());
      say("checking %d operations for linearizability", ops.size());
      LinearizabilityChecker.Result lin = new LinearizabilityChecker()
          .check(ops, workload::modelFor);
      Map<String, Object> own = workload.check(ops, serializableOps);
      List<FaultWindow> faults = nemesis.windows();
      Availability availability = Availability.of(ops, faults, runEnd);

      Map<String, Object> checks = new LinkedHashMap<>();
      List<LinearizabilityChecker.KeyResult> bad = lin.failures();
      checks.put("linearizable", Map.of("ok", lin.valid(), "keys", lin.keys().size(),
          "failedKeys", bad.size(),
          "failures", bad.stream().limit(5).map(k -> Map.of("key", k.key(),
              "verdict", k.verdict().name(), "operations", k.operations(),
              "history", k.history().stream().limit(200).toList())).toList()));
      checks.put("noAcknowledgedWriteLost", Map.of("ok", unread.isEmpty() && lin.valid(),
          "keysReadAtTheEnd", keys.size() - unread.size(), "keysNotRead", unread));
      checks.put("replicasConverge", convergence);
      Map<String, Long> errorCodes = new TreeMap<>();
      errors.forEach((code, n) -> errorCodes.put(code, n.sum()));
      // A transaction refused because its keys lie in two ranges: a split point the workload
      // should never have chosen (Workload.separates).
      checks.put("noCrossRangeRefusal", Map.of("ok", !errorCodes.containsKey("CROSS_RANGE"),
          "crossRange", errorCodes.getOrDefault("CROSS_RANGE", 0L)));
      checks.putAll(own);
      checks.put("faultChecks", Map.of("ok", nemesis.anomalies().isEmpty(),
          "anomalies", nemesis.anomalies()));
      checks.put("run", Map.of("ok", anomalies.size() == nemesis.anomalies().size(),
          "anomalies", anomalies));

      boolean passed = true;
      List<String> failed = new ArrayList<>();
      for (Map.Entry<String, Object> c : checks.entrySet()) {
        boolean ok = Boolean.TRUE.equals(((Map<?, ?>) c.getValue()).get("ok"));
        passed &= ok;
        if (!ok) {
          failed.add(c.getKey());
        }
      }

      Map<String, Object> report = new LinkedHashMap<>();
      report.put("passed", passed);
      report.put("failedChecks", failed);
      report.put("settings", Map.of("nodes", s.nodes(), "durationSeconds",
          s.duration().toSeconds(), "clients", s.clients(), "faults",
          s.faults().stream().map(f -> f.label).toList(), "seed", s.seed(), "workload",
          s.workload(), "faultIntervalMs", s.faultInterval().toMillis(), "serializableReads",
          s.serializableReads(), "ranges", s.ranges(), "rerun", rerun));
      report.put("wallSeconds", Math.round((System.nanoTime() - t0) / 1e9));
      report.put("operations", counts(ops));
      report.put("clientErrors", errorCodes);
      Map<String, Long> byKind = new TreeMap<>();
      faults.forEach(f -> byKind.merge(f.kind(), 1L, Long::sum));
      report.put("faultsInjected", Map.of("total", faults.size(), "byKind", byKind));
      report.put("checks", checks);
      report.put("availability", availability.summary());
      report.put("faults", faults);
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
          .writeValue(s.out().resolve("report.json").toFile(), report);
      try {
        Timeline.write(s.out().resolve("timeline.png"), String.format(
            "flotilla chaos: %d nodes, %d ranges, %s, seed %d, %d faults", s.nodes(), s.ranges(),
            workload.name(), s.seed(), faults.size()), availability, faults);
      } catch (Exception | LinkageError e) {
        say("could not draw timeline.png: %s", e);
      }
      summary(report, checks, availability, passed, rerun);
      return new Outcome(passed, report);
    }
  }

  /**
   * The nodes, started: a local cluster (separate JVMs, fault injection on), or the containers
   * of {@code --docker-compose} (the file's own flags; logs saved to {@code data} at the end).
   */
  private NodeProcesses start(Path data) throws Exception {
    NodeProcesses cluster;
    if (s.compose() != null) {
      cluster = new ComposeProcesses(s.compose().file(), s.compose().project(), s.nodes(), data);
      say("starting node1..node%d of %s as compose project %s (logs at the end: %s/nodeN.log)",
          s.nodes(), s.compose().file(), s.compose().project(), data);
    } else {
      cluster = new LocalProcesses(new LocalCluster(s.nodes(), s.basePort(), data,
          s.leaseReads() ? List.of("--enable-fault-injection", "--snapshot-entries", "10000", "--lease-reads")
              : List.of("--enable-fault-injection", "--snapshot-entries", "10000"),
          // Nodes restart hundreds of times: C1 only starts them faster on a busy machine.
          List.of("-XX:TieredStopAtLevel=1")));
      say("starting %d nodes (logs: %s/nodeN.log)", s.nodes(), data);
    }
    try {
      cluster.startAll();
      return cluster;
    } catch (Exception | Error e) {
      cluster.close();
      throw e;
    }
  }

  private ClientOptions options(NodeProcesses cluster) {
    return ClientOptions.of(cluster.clientEndpoints())
        .withRequestTimeout(Duration.ofSeconds(10))
        .withAttemptTimeout(Duration.ofSeconds(1))
        .withBackoff(Duration.ofMillis(10), Duration.ofMillis(250));
  }

  /**
   * Splits the fresh cluster at the workload's pre-split keys (within its key space, never between
   * one request's keys) and spreads the ranges' leaders over the nodes.
   */
  private void presplit(FlotillaClient c, Workload workload) {
    List<String> keys = workload.presplitKeys(s.ranges());
    for (String k : keys) {
      if (workload.separates(k)) {
        throw new IllegalStateException("pre-split key " + k + " separates keys of one request");
      }
    }
    RangeListResult ranges;
    try {
      ranges = RangePresplit.apply(c, keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8))
          .toList(), s.nodes(), Duration.ofSeconds(60));
    } catch (java.util.concurrent.CompletionException e) {
      throw new IllegalStateException("pre-splitting into " + s.ranges() + " ranges failed: "
          + e.getCause(), e);
    }
    say("split into %d ranges at %s, leaders spread over %d nodes", ranges.getRangesCount(),
        keys.size() <= 8 ? keys : keys.subList(0, 4) + "..." + keys.subList(keys.size() - 2,
            keys.size()), s.nodes());
  }

  private static Map<String, Object> counts(List<Operation> ops) {
    Map<String, Map<String, Long>> byF = new TreeMap<>();
    for (Operation op : ops) {
      byF.computeIfAbsent(op.f(), x -> new TreeMap<>()).merge(op.outcome(), 1L, Long::sum);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("total", ops.size());
    out.put("ok", ops.stream().filter(Operation::ok).count());
    out.put("info", ops.stream().filter(Operation::info).count());
    out.put("byFunction", byF);
    return out;
  }

  private void summary(Map<String, Object> report, Map<String, Object> checks,
      Availability availability, boolean passed, String rerun) {
    out.println();
    out.println("chaos run " + (passed ? "PASSED" : "FAILED") + "  (" + s.out() + ")");
    out.println("  operations: " + report.get("operations"));
    out.println("  faults:     " + report.get("faultsInjected"));
    for (Map.Entry<String, Object> c : checks.entrySet()) {
      Map<?, ?> v = (Map<?, ?>) c.getValue();
      Map<Object, Object> brief = new LinkedHashMap<>(v);
      brief.remove("ok");
      brief.remove("failures");
      String text = brief.toString();
      out.printf("  %-4s %-26s %s%n", Boolean.TRUE.equals(v.get("ok")) ? "ok" : "FAIL", c.getKey(),
          text.length() > 160 ? text.substring(0, 160) + "..." : text);
    }
    Map<String, Object> a = availability.summary();
    out.println("  availability: longest stretch without an acknowledged write "
        + a.get("longestNoWriteMs") + " ms (after fault " + a.get("longestNoWriteAfterFault")
        + "); by fault kind " + a.get("longestNoWriteMsByFaultKind"));
    out.println("  files: history.jsonl, report.json, timeline.png in " + s.out());
    if (!passed) {
      out.println("  rerun: " + rerun);
    }
    out.flush();
  }
}
