package io.flotilla.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.server.local.LocalCluster;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The counter demo: clients increment one counter while the leader is killed with SIGKILL and
 * restarted, again and again. At the end every replica must hold the same counter, equal to the
 * number of acknowledged increments (give or take increments whose outcome was reported unknown).
 */
final class Demo {
  record Settings(int nodes, int clients, int kills, Duration phase, int basePort, Path dataDir) {}

  record Outcome(boolean ok, long acknowledged, long unknown, List<Long> replicaValues) {}

  private static final byte[] COUNTER = "demo-counter".getBytes(UTF_8);

  private final Settings s;
  private final PrintStream out;
  private final long t0 = System.nanoTime();

  Demo(Settings s, PrintStream out) {
    this.s = s;
    this.out = out;
  }

  private void say(String fmt, Object... args) {
    out.printf("[%6.1fs] %s%n", (System.nanoTime() - t0) / 1e9, String.format(fmt, args));
    out.flush();
  }

  Outcome run() throws Exception {
    try (LocalCluster cluster = new LocalCluster(s.nodes(), s.basePort(), s.dataDir()).withDashboardControl();
        FlotillaClient client = new FlotillaClient(ClientOptions.of(clusterEndpoints())
            .withRequestTimeout(Duration.ofSeconds(15)));
        FlotillaClient probe = new FlotillaClient(ClientOptions.of(clusterEndpoints())
            .withRequestTimeout(Duration.ofMillis(500)))) {
      say("starting %d nodes as separate processes (logs in %s)", s.nodes(), s.dataDir());
      cluster.startAll();
      say("watch it live: %s (the cluster dashboard, served by every node)", cluster.dashboardUrl(1));
      int leader = awaitLeader(cluster, probe);
      say("node %d is the leader", leader);

      AtomicLong acknowledged = new AtomicLong();
      AtomicLong unknown = new AtomicLong();
      AtomicBoolean running = new AtomicBoolean(true);
      List<Thread> workers = new ArrayList<>();
      for (int i = 0; i < s.clients(); i++) {
        Thread t = new Thread(() -> {
          while (running.get()) {
            try {
              client.blocking().incr(COUNTER, 1);
              acknowledged.incrementAndGet();
            } catch (FlotillaException e) {
              if (e.outcomeUnknown()) {
                unknown.incrementAndGet();
              }
            }
          }
        }, "demo-client-" + i);
        t.start();
        workers.add(t);
      }
      say("%d clients are incrementing \"demo-counter\"", s.clients());
      for (int k = 1; k <= s.kills(); k++) {
        pause(s.phase());
        say("%d increments acknowledged so far", acknowledged.get());
        say("kill -9 of the leader, node %d", leader);
        cluster.kill(leader);
        long before = acknowledged.get();
        int next = awaitLeader(cluster, probe);
        say("node %d is the new leader", next);
        pause(s.phase());
        say("writes went on without node %d: %d more increments", leader,
            acknowledged.get() - before);
        say("restarting node %d; it catches up from the log", leader);
        cluster.start(leader);
        leader = next;
      }
      pause(s.phase());
      running.set(false);
      for (Thread t : workers) {
        t.join();
      }
      say("clients stopped: %d increments acknowledged, %d with unknown outcome",
          acknowledged.get(), unknown.get());

      List<Long> values = awaitAgreement(probe, cluster);
      boolean agree = values.stream().distinct().count() == 1;
      long v = values.get(0);
      boolean exact = v >= acknowledged.get() && v <= acknowledged.get() + unknown.get();
      for (int i = 1; i <= s.nodes(); i++) {
        say("node %d: demo-counter = %d", i, values.get(i - 1));
      }
      boolean ok = agree && exact;
      say(ok ? "OK: every replica agrees, and the counter equals the acknowledged increments"
          : "FAILED: replicas disagree or the counter does not match the acknowledged increments");
      return new Outcome(ok, acknowledged.get(), unknown.get(), values);
    }
  }

  private String clusterEndpoints() {
    List<String> eps = new ArrayList<>();
    for (int i = 1; i <= s.nodes(); i++) {
      eps.add("127.0.0.1:" + (s.basePort() + 10 * (i - 1)));
    }
    return String.join(",", eps);
  }

  private int awaitLeader(LocalCluster cluster, FlotillaClient probe) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      for (int i = 1; i <= cluster.nodes(); i++) {
        if (!cluster.alive(i)) {
          continue;
        }
        try {
          StatusResult st = probe.blocking().status(cluster.client(i));
          if ("LEADER".equals(st.getRole())) {
            return i;
          }
        } catch (FlotillaException e) {
          // not up yet
        }
      }
      pause(Duration.ofMillis(100));
    }
    throw new IllegalStateException("no leader within 60 s; see the node logs in " + s.dataDir());
  }

  /** Waits until every replica serves the same counter locally, then returns the values. */
  private List<Long> awaitAgreement(FlotillaClient unused, LocalCluster cluster)
      throws InterruptedException {
    // One client per node, with that node as its only endpoint: a SERIALIZABLE read then reads
    // exactly that replica's own state, which is what convergence is about.
    List<FlotillaClient> perNode = new ArrayList<>();
    for (int i = 1; i <= cluster.nodes(); i++) {
      perNode.add(new FlotillaClient(ClientOptions.of(cluster.client(i).toString())
          .withRequestTimeout(Duration.ofMillis(500))));
    }
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      List<Long> values = List.of();
      while (System.nanoTime() < deadline) {
        values = new ArrayList<>();
        for (FlotillaClient c : perNode) {
          values.add(localCounter(c));
        }
        if (!values.contains(-1L) && values.stream().distinct().count() == 1) {
          return values;
        }
        pause(Duration.ofMillis(200));
      }
      return values;
    } finally {
      perNode.forEach(FlotillaClient::close);
    }
  }

  private static long localCounter(FlotillaClient nodeClient) {
    try {
      Optional<byte[]> v = nodeClient.blocking().get(COUNTER, Consistency.SERIALIZABLE);
      return v.map(b -> Long.parseLong(new String(b, UTF_8))).orElse(0L);
    } catch (RuntimeException e) {
      return -1;
    }
  }

  /** Waiting for the cluster to do something, not for a condition: the demo is paced. */
  private static void pause(Duration d) throws InterruptedException {
    Thread.sleep(d.toMillis());
  }
}
