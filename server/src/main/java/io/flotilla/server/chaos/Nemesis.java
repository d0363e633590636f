package io.flotilla.server.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Injects faults one at a time on a schedule drawn from the seed: a pause, then a fault (which
 * one, on which node, for how long: all from the seed), its heal, and a wait until the cluster is
 * whole again (every node up, one leader; after a disk fault also the damaged node caught up, so
 * the entries it lost exist on a majority before the next fault). Only the wall-clock moments
 * vary between runs of one seed, with the machine's speed.
 */
final class Nemesis {
  private final ClusterControl cluster;
  private final List<FaultKind> kinds;
  private final SplittableRandom random;
  private final Duration interval;
  private final History clock;
  private final AtomicLong lastOkWrite;
  private final Consumer<String> log;
  private final List<FaultWindow> windows = new ArrayList<>();
  private final List<String> anomalies = new ArrayList<>();
  private int diskRounds;

  Nemesis(ClusterControl cluster, List<FaultKind> kinds, SplittableRandom random,
      Duration interval, History clock, AtomicLong lastOkWrite, Consumer<String> log) {
    this.cluster = cluster;
    this.kinds = List.copyOf(kinds);
    this.random = random;
    this.interval = interval;
    this.clock = clock;
    this.lastOkWrite = lastOkWrite;
    this.log = log;
  }

  synchronized List<FaultWindow> windows() {
    return List.copyOf(windows);
  }

  synchronized List<String> anomalies() {
    return List.copyOf(anomalies);
  }

  private synchronized void anomaly(String what) {
    anomalies.add(what);
    log.accept("ANOMALY: " + what);
  }

  /** Injects faults until {@code untilNanos} (history clock); every fault is healed on return. */
  void run(long untilNanos) throws Exception {
    while (clock.now() < untilNanos) {
      long pause = interval.toNanos() / 2 + random.nextLong(interval.toNanos() + 1);
      if (clock.now() + pause >= untilNanos) {
        break;
      }
      Thread.sleep(pause / 1_000_000); // the schedule's own pause between faults
      if (kinds.isEmpty()) {
        continue;
      }
      FaultKind kind = kinds.get(random.nextInt(kinds.size()));
      long hold = holdMillis(kind);
      int seq = windows().size() + 1;
      long start = clock.now();
      String[] detail = {""};
      String check = inject(kind, hold, detail);
      long end = clock.now();
      synchronized (this) {
        windows.add(new FaultWindow(seq, kind.label, detail[0], start, end, check));
      }
      log.accept(String.format("fault %d %s: %s%s", seq, kind.label, detail[0],
          check == null ? "" : " [" + check + "]"));
      if (cluster.awaitHealthy(Duration.ofSeconds(90)) == 0) {
        anomaly("cluster not whole (every node up, one leader) 90 s after fault " + seq);
      }
    }
  }

  /**
   * How long a fault lasts. A killed node's downtime is mostly its restart (a JVM, RocksDB, the
   * log replay), so kills wait briefly before restarting; pauses and partitions last long enough
   * for an election to happen behind them (elections time out after 0.5-1 s at 50 ms ticks).
   */
  private long holdMillis(FaultKind kind) {
    return switch (kind) {
      case KILL, KILL_LEADER, DISK, RESTART_ALL -> 200 + random.nextLong(1_300);
      case PAUSE -> 1_000 + random.nextLong(2_000);
      case PARTITION -> 1_000 + random.nextLong(3_000);
    };
  }

  /**
   * A node, the leader when {@code preferLeader} and one is known. Both random draws happen
   * whatever the cluster looks like, so the seed's schedule does not depend on timing.
   */
  private int nodeOrLeader(int leader) {
    int any = randomNode();
    boolean preferLeader = random.nextBoolean();
    return leader != 0 && preferLeader ? leader : any;
  }

  private int randomNode() {
    return 1 + random.nextInt(cluster.nodes());
  }

  /** Injects, holds for {@code holdMs}, heals. Returns a disk fault's verdict, else null. */
  private String inject(FaultKind kind, long holdMs, String[] detail) throws Exception {
    switch (kind) {
      case KILL -> {
        int n = randomNode();
        cluster.cluster.kill(n);
        detail[0] = "SIGKILL node " + n + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.start(n);
      }
      case KILL_LEADER -> {
        int l = cluster.leader();
        int n;
        int any = randomNode(); // drawn either way: the schedule must not depend on timing
        n = l != 0 ? l : any;
        cluster.cluster.kill(n);
        detail[0] = "SIGKILL " + (l != 0 ? "leader " : "(no leader) ") + "node " + n + " for "
            + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.start(n);
      }
      case PAUSE -> {
        int l = cluster.leader();
        int n = nodeOrLeader(l);
        cluster.cluster.pause(n);
        detail[0] = "SIGSTOP node " + n + (n == l ? " (leader)" : "") + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.resume(n);
      }
      case PARTITION -> {
        detail[0] = partition() + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.healNetwork(Duration.ofSeconds(30));
      }
      case RESTART_ALL -> {
        for (int i = 1; i <= cluster.nodes(); i++) {
          cluster.cluster.kill(i);
        }
        long down = holdMs;
        detail[0] = "SIGKILL all " + cluster.nodes() + " nodes, restart after " + down + " ms";
        Thread.sleep(down);
        for (int i = 1; i <= cluster.nodes(); i++) {
          cluster.cluster.start(i);
        }
      }
      case DISK -> {
        return disk(detail);
      }
      default -> throw new IllegalStateException("unhandled fault " + kind);
    }
    return null;
  }

  /** One of: isolate a node (the leader half the time), split minority/majority, one-way cut. */
  private String partition() throws IOException, InterruptedException {
    int n = cluster.nodes();
    List<Integer> all = IntStream.rangeClosed(1, n).boxed().toList();
    int shape = random.nextInt(3);
    SplittableRandom r = random.split(); // this shape's own draws, so later faults do not shift
    if (shape == 0 || (shape == 1 && n < 5)) {
      int l = cluster.leader();
      int any = 1 + r.nextInt(n);
      boolean preferLeader = r.nextBoolean();
      int v = l != 0 && preferLeader ? l : any;
      for (int i : all) {
        cluster.dropFramesTo(i, i == v ? all.stream().filter(x -> x != v).toList() : List.of(v));
      }
      return "isolate node " + v + (v == l ? " (leader)" : "");
    }
    if (shape == 1) {
      List<Integer> shuffled = new ArrayList<>(all);
      for (int i = shuffled.size() - 1; i > 0; i--) {
        java.util.Collections.swap(shuffled, i, r.nextInt(i + 1));
      }
      List<Integer> minority = shuffled.subList(0, (n - 1) / 2);
      List<Integer> majority = shuffled.subList((n - 1) / 2, n);
      for (int i : minority) {
        cluster.dropFramesTo(i, majority);
      }
      for (int i : majority) {
        cluster.dropFramesTo(i, minority);
      }
      return "split " + minority + " | " + majority;
    }
    int v = 1 + r.nextInt(n);
    List<Integer> others = all.stream().filter(x -> x != v).toList();
    if (r.nextBoolean()) {
      cluster.dropFramesTo(v, others);
      return "one-way: node " + v + " cannot send (it still hears the others)";
    }
    for (int i : others) {
      cluster.dropFramesTo(i, List.of(v));
    }
    return "one-way: node " + v + " cannot hear (it can still send)";
  }

  /**
   * Alternately a torn tail (must recover and catch up) and a corrupted middle record (must refuse
   * to start with a clear error while the majority keeps serving; then the injected damage is
   * undone byte for byte and the node must rejoin, because no safe rebuild of a node under its old
   * id exists yet: see docs/testing.md).
   */
  private String disk(String[] detail) throws Exception {
    int n = randomNode();
    Path raft = cluster.cluster.dataDir(n).resolve("raft");
    cluster.cluster.kill(n);
    boolean corrupt = (diskRounds++ % 2) == 1;
    SplittableRandom r = random.split(); // where the damage lands depends on the log's contents
    WalDamage.Patch patch = corrupt ? WalDamage.corruptMiddleRecord(raft, r) : null;
    if (patch == null) {
      String torn = WalDamage.tearLastRecord(raft, r);
      detail[0] = "node " + n + " killed; torn tail: " + (torn == null ? "no record to tear" : torn);
      cluster.cluster.start(n);
      if (!cluster.awaitCaughtUp(n, Duration.ofSeconds(90))) {
        String why = "node " + n + " did not recover and catch up after a torn WAL tail (see "
            + cluster.cluster.logFile(n) + ")";
        anomaly(why);
        return why;
      }
      return "ok";
    }
    detail[0] = "node " + n + " killed; flipped a byte at " + patch.file().getFileName() + ":"
        + patch.offset() + " (entry " + patch.index() + ")";
    Path logFile = cluster.cluster.logFile(n);
    long logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
    long refusedAt = clock.now();
    cluster.cluster.start(n);
    int exit = cluster.cluster.awaitExit(n, Duration.ofSeconds(60));
    String verdict = "ok";
    if (exit == -1) {
      verdict = "node " + n + " started on a corrupted WAL instead of refusing";
      cluster.cluster.kill(n);
    } else {
      String tail = Files.readString(logFile).substring((int) Math.min(logStart,
          Files.size(logFile)));
      if (exit == 0 || !tail.contains("WAL corruption in")) {
        verdict = "node " + n + " exited " + exit + " without naming the WAL corruption";
      }
    }
    // The remaining majority must keep serving while this node is down.
    long waitUntil = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (lastOkWrite.get() <= refusedAt && System.nanoTime() < waitUntil) {
      Thread.sleep(50); // watching the workload's progress; no event to wait on
    }
    if (lastOkWrite.get() <= refusedAt && verdict.equals("ok")) {
      verdict = "no write succeeded within 30 s while node " + n + " was down";
    }
    WalDamage.undo(patch);
    cluster.cluster.start(n);
    if (!cluster.awaitCaughtUp(n, Duration.ofSeconds(90)) && verdict.equals("ok")) {
      verdict = "node " + n + " did not rejoin after the damage was undone";
    }
    if (!verdict.equals("ok")) {
      anomaly(verdict);
    }
    return verdict;
  }
}
