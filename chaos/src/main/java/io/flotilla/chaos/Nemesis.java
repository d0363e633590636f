package io.flotilla.chaos;

import io.flotilla.checker.History;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.RangeListResult;
import io.flotilla.wal.WalDamage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * Injects faults one at a time on a schedule drawn from the seed: a pause, then a fault (which
 * one, on which node, for how long: all from the seed), its heal, and a wait until some node
 * leads. A restarted node may still be starting when the next fault comes, so faults overlap
 * with recoveries (a node killed while recovering its log included). A disk fault waits for the
 * whole cluster first and ends with the damaged node caught up, so acknowledged entries it loses
 * exist on a majority throughout. Only the wall-clock moments vary between runs of one seed.
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
  private final boolean loseAcknowledged;
  private final FlotillaClient client;
  private final Workload workload;

  /**
   * @param client   the split fault's client (its own, not the workload's)
   * @param workload where the split fault's keys come from
   */
  Nemesis(ClusterControl cluster, List<FaultKind> kinds, SplittableRandom random,
      Duration interval, History clock, AtomicLong lastOkWrite, Consumer<String> log,
      boolean loseAcknowledged, FlotillaClient client, Workload workload) {
    this.loseAcknowledged = loseAcknowledged;
    this.client = client;
    this.workload = workload;
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
      for (int i = 1; i <= cluster.nodes(); i++) {
        if (!cluster.cluster.alive(i)) {
          // Every fault restarts what it stopped, so a missing node exited on its own.
          anomaly("node " + i + " exited on its own; restarting it (see "
              + cluster.cluster.logFile(i) + ")");
          cluster.cluster.start(i);
        }
      }
      FaultKind kind = kinds.get(random.nextInt(kinds.size()));
      long hold = holdMillis(kind);
      if (kind == FaultKind.DISK && cluster.awaitHealthy(Duration.ofSeconds(90)) == 0) {
        // Cutting acknowledged data is only survivable while every other node holds it.
        anomaly("cluster not whole (every node up, one leader) 90 s before a disk fault");
      }
      int seq = windows().size() + 1;
      long start = clock.now();
      String[] detail = {""};
      String check;
      try {
        check = inject(kind, hold, detail);
      } catch (IllegalStateException | IOException e) {
        // A node that died on its own between the check above and the fault, or one that could
        // not be reached: reported, and the run goes on (one such error ended a 30-minute run).
        check = "not injected: " + e;
        anomaly("fault " + seq + " " + kind.label + " could not be injected: " + e);
      }
      long end = clock.now();
      synchronized (this) {
        windows.add(new FaultWindow(seq, kind.label, detail[0], start, end, check));
      }
      log.accept(String.format("fault %d %s: %s%s", seq, kind.label, detail[0],
          check == null ? "" : " [" + check + "]"));
      // The next fault may come while a restarted node is still starting (crash during
      // recovery included); only a leader is awaited, so faults overlap with recoveries.
      if (cluster.awaitLeader(Duration.ofSeconds(90)) == 0) {
        anomaly("no leader 90 s after fault " + seq);
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
      case PARTITION, DISCONNECT -> 1_000 + random.nextLong(3_000);
      // Past an election timeout (0.5-1 s at 50 ms ticks): the others elect and commit meanwhile.
      case STALL -> 500 + random.nextLong(2_500);
      case SPLIT -> 0; // a split is one request: nothing to hold
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
        detail[0] = cluster.cluster.killVerb() + " node " + n + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.start(n);
      }
      case KILL_LEADER -> {
        int l = cluster.leader();
        int n;
        int any = randomNode(); // drawn either way: the schedule must not depend on timing
        n = l != 0 ? l : any;
        cluster.cluster.kill(n);
        detail[0] = cluster.cluster.killVerb() + " " + (l != 0 ? "leader " : "(no leader) ") + "node " + n + " for "
            + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.start(n);
      }
      case PAUSE -> {
        int l = cluster.leader();
        int n = nodeOrLeader(l);
        cluster.cluster.pause(n);
        detail[0] = cluster.cluster.pauseVerb() + " node " + n + (n == l ? " (leader)" : "") + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.resume(n);
      }
      case PARTITION -> {
        detail[0] = partition() + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        List<Integer> unhealed = cluster.healNetwork(Duration.ofSeconds(30));
        if (!unhealed.isEmpty()) {
          anomaly("could not heal the partition on nodes " + unhealed + " within 30 s");
        }
      }
      case RESTART_ALL -> {
        for (int i = 1; i <= cluster.nodes(); i++) {
          cluster.cluster.kill(i);
        }
        long down = holdMs;
        detail[0] = cluster.cluster.killVerb() + " all " + cluster.nodes() + " nodes, restart after " + down + " ms";
        Thread.sleep(down);
        for (int i = 1; i <= cluster.nodes(); i++) {
          cluster.cluster.start(i);
        }
      }
      case DISK -> {
        return disk(detail);
      }
      case STALL -> stall(holdMs, detail);
      case DISCONNECT -> {
        int l = cluster.leader();
        int n = nodeOrLeader(l);
        cluster.cluster.disconnect(n);
        detail[0] = "network disconnect node " + n + (n == l ? " (leader)" : "") + " for " + holdMs + " ms";
        Thread.sleep(holdMs);
        cluster.cluster.reconnect(n);
      }
      case SPLIT -> {
        return split(detail);
      }
      default -> throw new IllegalStateException("unhandled fault " + kind);
    }
    return null;
  }

  /**
   * A stalled Raft loop (a slow fsync, a long apply batch) while the network threads keep queueing
   * reads: the lease-read hazard of issue 14 item 2. Half the time the node is also isolated, and
   * stays so a while after its loop resumes, so that the others elect and commit while it is
   * stalled and its queued reads are then judged against a lease that has run out.
   */
  private void stall(long holdMs, String[] detail) throws IOException, InterruptedException {
    int l = cluster.leader();
    int n = nodeOrLeader(l);
    boolean isolate = random.nextBoolean();
    long after = 300 + random.nextLong(1_200);
    List<Integer> others = IntStream.rangeClosed(1, cluster.nodes()).boxed().filter(x -> x != n).toList();
    if (isolate) {
      for (int i = 1; i <= cluster.nodes(); i++) {
        drop(i, i == n ? others : List.of(n));
      }
    }
    detail[0] = "stall the Raft loop of node " + n + (n == l ? " (leader)" : "") + " for " + holdMs + " ms"
        + (isolate ? ", isolated until " + after + " ms after" : "");
    try {
      cluster.stallRaftLoop(n, holdMs);
    } catch (IOException e) {
      // Still starting after a kill (its admin port not bound yet), as drop() allows for: the
      // node is left out, and the fault holds only its isolation, if any.
      detail[0] += "; node " + n + " not reachable, not stalled (" + e + ")";
    }
    Thread.sleep(holdMs + (isolate ? after : 0));
    if (isolate) {
      List<Integer> unhealed = cluster.healNetwork(Duration.ofSeconds(30));
      if (!unhealed.isEmpty()) {
        anomaly("could not heal the stall's isolation on nodes " + unhealed + " within 30 s");
      }
    }
  }

  /**
   * Splits the range holding a key the workload draws, among the keys its clients use now or
   * next, skipping the ranges' current starts (as the nodes that answer see them; a split at a start does
   * nothing). A split refused or timed out under other faults (NOT_LEADER while a node is
   * killed, STALE_EPOCH after a concurrent split, TIMEOUT in a partition) is recorded in the
   * window's verdict, not an anomaly: the run goes on with the ranges it has. A drawn key that
   * would separate one request's keys is an anomaly (the workload's bug) and is not split.
   */
  private String split(String[] detail) throws InterruptedException {
    SplittableRandom r = random.split(); // the key's own draws, so later faults do not shift
    // The starts every node that answers knows of (one lagging node may not have applied a
    // recent split yet); unknown ones only make the split do nothing.
    Set<String> starts = new HashSet<>();
    for (int i = 1; i <= cluster.nodes(); i++) {
      com.fasterxml.jackson.databind.JsonNode st = cluster.status(i);
      if (st != null) {
        st.path("ranges").forEach(range -> starts.add(range.path("start").asText()));
      }
    }
    String key = workload.splitKey(r, starts);
    detail[0] = "split the range holding " + key + " at it";
    if (workload.separates(key)) {
      String why = "the " + workload.name() + " workload drew split key " + key
          + ", which separates keys of one request";
      anomaly(why);
      return "not injected: " + why;
    }
    try {
      RangeListResult after = client.splitRange(key.getBytes(StandardCharsets.UTF_8))
          .get(15, TimeUnit.SECONDS);
      detail[0] += " (" + after.getRangesCount() + " ranges)";
      boolean started = after.getRangesList().stream()
          .anyMatch(x -> x.getStartKey().toStringUtf8().equals(key));
      return started ? "ok: split" : "split answered, but no range starts at " + key;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      return "split failed: " + (cause instanceof FlotillaException fe
          ? fe.code() + (fe.outcomeUnknown() ? " (outcome unknown)" : "") : String.valueOf(cause));
    } catch (TimeoutException e) {
      return "split failed: no answer within 15 s (outcome unknown)";
    }
  }

  /**
   * Sets a node's drops; a node that does not answer (still starting after a kill) is skipped: a
   * process that starts later begins with no drops, so the partition is only partly in place.
   */
  private void drop(int node, List<Integer> to) throws InterruptedException {
    try {
      cluster.dropFramesTo(node, to);
    } catch (IOException e) {
      log.accept("partition: node " + node + " not reachable, left out (" + e.getMessage() + ")");
    }
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
        drop(i, i == v ? all.stream().filter(x -> x != v).toList() : List.of(v));
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
        drop(i, majority);
      }
      for (int i : majority) {
        drop(i, minority);
      }
      return "split " + minority + " | " + majority;
    }
    int v = 1 + r.nextInt(n);
    List<Integer> others = all.stream().filter(x -> x != v).toList();
    if (r.nextBoolean()) {
      drop(v, others);
      return "one-way: node " + v + " cannot send (it still hears the others)";
    }
    for (int i : others) {
      drop(i, List.of(v));
    }
    return "one-way: node " + v + " cannot hear (it can still send)";
  }

  /**
   * In turn: (1) a torn unacknowledged write (what a crash mid-write leaves): the node must
   * recover behind a recovery fence (recovery cannot tell it from forced records damaged since),
   * report the cut in /status and catch up, fence lifted; (2) a corrupted record in the middle of the log: the node must refuse
   * to start, naming the damage, while the majority keeps serving; (3) only with
   * {@code --disk-lose-acknowledged}, outside Raft's fault model: a cut through the last, forced
   * record (a disk losing acknowledged data): the node must rejoin behind its recovery fence as
   * in (1), or stop with a clear error. After (2) and (3) the damage is undone
   * byte for byte and the node must rejoin: no safe rebuild of a node under its old id exists yet
   * (README, docs/testing.md).
   */
  private String disk(String[] detail) throws Exception {
    int n = randomNode();
    // Range 1's log: with --ranges the other ranges' logs (raft-<id>/) are not damaged. The WAL is
    // becoming one shared log per node (docs/ranges.md), which will change what this path holds.
    Path raft = cluster.cluster.dataDir(n).resolve("raft");
    cluster.cluster.kill(n);
    int variant = diskRounds++ % (loseAcknowledged ? 3 : 2);
    SplittableRandom r = random.split(); // where the damage lands depends on the log's contents
    WalDamage.Patch patch = variant == 1 ? WalDamage.corruptMiddleRecord(raft, r)
        : variant == 2 ? WalDamage.cutLastRecord(raft, r) : null;
    Path logFile = cluster.cluster.logFile(n);
    long logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
    if (patch == null) {
      String torn = WalDamage.tearUnacknowledgedWrite(raft, r);
      detail[0] = "node " + n + " killed; torn write: " + (torn == null ? "no record to copy" : torn);
      cluster.cluster.start(n);
      if (!cluster.awaitCaughtUp(n, Duration.ofSeconds(90))) {
        String why = "node " + n + " did not recover and catch up after a torn write (see "
            + logFile + ")";
        anomaly(why);
        return why;
      }
      String verdict = torn == null ? "ok: recovered" : fenceLifted(n);
      if (!verdict.startsWith("ok")) {
        anomaly(verdict);
      }
      return verdict;
    }
    long damagedAt = clock.now();
    String verdict;
    if (variant == 1) {
      detail[0] = "node " + n + " killed; flipped a byte at " + patch.file().getFileName() + ":"
          + patch.offset() + " (entry " + patch.index() + ")";
      cluster.cluster.start(n);
      int exit = cluster.cluster.awaitExit(n, Duration.ofSeconds(60));
      if (exit == -1) {
        verdict = "node " + n + " started on a corrupted WAL instead of refusing";
        cluster.cluster.kill(n);
      } else if (exit == 0 || !logSince(logFile, logStart).contains("WAL corruption in")) {
        verdict = "node " + n + " exited " + exit + " without naming the WAL corruption";
      } else {
        verdict = "ok: refused to start";
      }
    } else {
      detail[0] = "node " + n + " killed; cut " + patch.file().getFileName() + " at "
          + patch.offset() + ", inside its last record (entry " + patch.index() + ")";
      cluster.cluster.start(n);
      verdict = lostTail(n, logFile, logStart);
    }
    if (verdict.startsWith("ok") && !verdict.startsWith("ok: recovered")) {
      // The remaining majority must keep serving while this node is out.
      long waitUntil = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (lastOkWrite.get() <= damagedAt && System.nanoTime() < waitUntil) {
        Thread.sleep(50); // watching the workload's progress; no event to wait on
      }
      if (lastOkWrite.get() <= damagedAt) {
        verdict = "no write succeeded within 30 s while node " + n + " was out";
      }
    }
    if (cluster.cluster.alive(n) && !verdict.startsWith("ok: recovered")) {
      cluster.cluster.kill(n);
    }
    if (!cluster.cluster.alive(n)) {
      WalDamage.undo(patch);
      cluster.cluster.start(n);
      if (!cluster.awaitCaughtUp(n, Duration.ofSeconds(90)) && verdict.startsWith("ok")) {
        verdict = "node " + n + " did not rejoin after the damage was undone";
      }
    }
    if (!verdict.startsWith("ok")) {
      anomaly(verdict);
    }
    return verdict;
  }

  /**
   * After a cut through the last record: the node catches up behind its recovery fence (it may
   * have acknowledged the record; docs/raft.md, "Recovery after a cut"), or stops with an error
   * naming the lost log (a cut nobody recorded).
   */
  private String lostTail(int n, Path logFile, long logStart) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      String log = logSince(logFile, logStart);
      if (log.contains("log lost or corrupted") || log.contains("beyond durable log")) {
        return "ok: stopped, naming the lost log";
      }
      if (!cluster.cluster.alive(n)) {
        return log.contains("WAL") ? "ok: refused to start" : "node " + n + " exited without a clear error";
      }
      if (cluster.awaitCaughtUp(n, Duration.ofMillis(500))) {
        return fenceLifted(n);
      }
    }
    return "node " + n + " neither caught up nor stopped after losing its last record";
  }

  /**
   * A node that recovered from a cut of its final write group must have reported the cut in
   * {@code /status} ({@code "recovery"}) and brought its fence down once caught up.
   */
  private String fenceLifted(int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    com.fasterxml.jackson.databind.JsonNode rec = null;
    while (System.nanoTime() < deadline) {
      com.fasterxml.jackson.databind.JsonNode s = cluster.status(n);
      rec = s == null ? null : s.get("recovery");
      if (rec != null && rec.path("caughtUp").asBoolean()) {
        return "ok: recovered behind a recovery fence (cut from " + rec.path("cutFromIndex").asLong()
            + ", at most until " + rec.path("untilIndex").asLong() + "), fence lifted";
      }
      Thread.sleep(100); // polling a remote process
    }
    return rec == null || rec.isNull()
        ? "node " + n + " caught up after a cut of its final write without reporting it in /status"
        : "node " + n + " caught up but its recovery fence is still up after 30 s: " + rec;
  }

  private static String logSince(Path logFile, long from) throws IOException {
    String all = Files.exists(logFile) ? Files.readString(logFile) : "";
    return all.substring((int) Math.min(from, all.length()));
  }
}
