package io.flotilla.cli;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.loadgen.KvTarget;
import io.flotilla.loadgen.LoadGenerator;
import io.flotilla.loadgen.Report;
import io.flotilla.loadgen.OpMix;
import io.flotilla.server.local.LocalCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/flotilla bench}: load through the Java client, a progress line per second, one JSON line. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measures a cluster end to end through the Java client: closed loop (fixed requests in flight)"
        + " or open loop (--rate). Prints a line per second, then one JSON line.")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--endpoints", defaultValue = "${env:FLOTILLA_ENDPOINTS}",
      description = "Client addresses of the cluster, HOST:PORT,... (or $FLOTILLA_ENDPOINTS; not with --local).")
  String endpoints;

  @Option(names = "--target", defaultValue = "flotilla",
      description = "The system under test: flotilla, or etcd (v3 API through jetcd; bin/flotilla then adds the"
          + " bench module's etcd client to the class path; endpoints as http://HOST:PORT,...)."
          + " Default: ${DEFAULT-VALUE}.")
  String target;

  @Option(names = "--local", defaultValue = "0",
      description = "Start a fresh local cluster of this many nodes (separate JVMs, fsync on) for the run, then stop it.")
  int local;

  @Option(names = "--base-port", defaultValue = "7000",
      description = "With --local: node N listens on BASE+10(N-1) (client), +1 (peer), +2 (admin). Default: ${DEFAULT-VALUE}.")
  int basePort;

  @Option(names = "--clients", defaultValue = "4", description = "Client instances (connections per node). Default: ${DEFAULT-VALUE}.")
  int clients;

  @Option(names = "--concurrency", defaultValue = "64", description = "Requests in flight, in total. Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(names = "--duration", defaultValue = "30s", description = "Measured time (e.g. 30s, 2m). Default: ${DEFAULT-VALUE}.")
  String duration;

  @Option(names = "--warmup", defaultValue = "10s", description = "Unmeasured time first (JIT, connections). Default: ${DEFAULT-VALUE}.")
  String warmup;

  @Option(names = "--value-size", defaultValue = "256", description = "Bytes per value. Default: ${DEFAULT-VALUE}.")
  int valueSize;

  @Option(names = "--keys", defaultValue = "100000", description = "Distinct keys. Default: ${DEFAULT-VALUE}.")
  long keys;

  @Option(names = "--ranges", defaultValue = "1",
      description = "With --local: split the cluster into this many ranges evenly over the keys, leaders"
          + " spread over the nodes (docs/ranges.md). Default: ${DEFAULT-VALUE}.")
  int ranges;

  @Option(names = "--key-dist", defaultValue = "uniform", description = "uniform or zipf (theta 0.99). Default: ${DEFAULT-VALUE}.")
  String keyDist;

  @Option(names = "--mix", defaultValue = "put=100",
      description = "Operation weights: put, get, cas, incr, delete (e.g. get=90,put=10). Default: ${DEFAULT-VALUE}.")
  String mix;

  @Option(names = "--consistency", defaultValue = "LINEARIZABLE",
      description = "For gets: LINEARIZABLE, FOLLOWER or SERIALIZABLE. Default: ${DEFAULT-VALUE}.")
  Consistency consistency;

  @Option(names = "--rate", defaultValue = "0",
      description = "Open loop at this many requests/s (latency from when each was due). 0: closed loop.")
  double rate;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the key and operation choices.")
  long seed;

  @Option(names = "--sessions", defaultValue = "true", negatable = true, fallbackValue = "true",
      description = "Flotilla only: exactly-once write sessions, the client's default (--no-sessions: off, like etcd's"
          + " puts). Default: ${DEFAULT-VALUE}.")
  boolean sessions;

  @Option(names = "--hdr-out", description = "Write the latency histogram (HdrHistogram log, ns) to this file.")
  Path hdrOut;

  @picocli.CommandLine.Mixin
  TlsOption tlsDir;

  @Option(names = "--tls",
      description = "With --local: the nodes run TLS on every port (certificates made in the run's directory)"
          + " and the load goes over TLS. Without --local, give --tls-dir.")
  boolean tls;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  private KvTarget.Factory factory;
  /** The load's TLS (null: plain text). */
  private io.flotilla.client.tls.ClientTls clientTls;

  @Override
  public Integer call() throws Exception {
    OpMix workload;
    LoadGenerator.Settings settings;
    try {
      OpMix.KeyChooser chooser = switch (keyDist) {
        case "uniform" -> OpMix.KeyChooser.uniform(keys);
        case "zipf" -> OpMix.KeyChooser.zipf(keys, 0.99);
        default -> throw new IllegalArgumentException("--key-dist must be uniform or zipf");
      };
      workload = new OpMix(OpMix.parseMix(mix), chooser);
      if (local == 0 && (endpoints == null || endpoints.isBlank())) {
        throw new IllegalArgumentException("give --endpoints (or $FLOTILLA_ENDPOINTS), or --local N");
      }
      if (local > 0 && !target.equals("flotilla")) {
        throw new IllegalArgumentException("--local starts Flotilla nodes; it cannot be used with --target " + target);
      }
      factory = KvTarget.factory(target);
      if (!sessions && !target.equals("flotilla")) {
        throw new IllegalArgumentException("--no-sessions is a Flotilla client option");
      }
      if (tls && local == 0) {
        throw new IllegalArgumentException("--tls makes certificates for a --local cluster; for a running one give --tls-dir");
      }
      clientTls = tlsDir.tls(spec.commandLine());
      if (clientTls != null && !target.equals("flotilla")) {
        throw new IllegalArgumentException("--tls-dir is for Flotilla targets");
      }
      String eps = endpoints;
      KvTarget.Factory f = factory;
      boolean withSessions = sessions;
      io.flotilla.client.tls.ClientTls loadTls = clientTls;
      settings = new LoadGenerator.Settings(() -> target.equals("flotilla") ? KvTarget.flotilla(eps, withSessions, loadTls) : f.connect(eps), clients, concurrency,
          parse(duration), parse(warmup), valueSize, workload, consistency, rate, seed);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      return 64;
    }
    if (local == 0) {
      return run(settings);
    }
    Path dir = Files.createTempDirectory("flotilla-bench");
    try (LocalCluster cluster = new LocalCluster(local, basePort, dir)) {
      if (tls) {
        cluster.withTls(dir.resolve("tls"));
        clientTls = io.flotilla.client.tls.ClientTls.fromDir(LocalTls.ensure(dir.resolve("tls"), local));
      }
      System.err.printf("starting %d local nodes in %s%s%n", local, dir, tls ? " with TLS on every port" : "");
      cluster.startAll();
      io.flotilla.client.tls.ClientTls loadTls = clientTls;
      awaitLeader(cluster.clientEndpoints(), loadTls);
      String eps = cluster.clientEndpoints();
      Presplit.apply(eps, loadTls, ranges, keys, local, new java.io.PrintWriter(System.err, true));
      boolean withSessions = sessions;
      return run(new LoadGenerator.Settings(() -> KvTarget.flotilla(eps, withSessions, loadTls), settings.clients(), settings.concurrency(),
          settings.duration(), settings.warmup(), settings.valueSize(), settings.workload(), settings.consistency(),
          settings.rate(), settings.seed()));
    }
  }

  private int run(LoadGenerator.Settings settings) throws Exception {
    LoadGenerator.Result r = new LoadGenerator(settings, System.out).run();
    Map<String, Object> describe = new LinkedHashMap<>();
    describe.put("target", factory.name());
    describe.put("mode", settings.rate() > 0 ? "open" : "closed");
    describe.put("mix", mix);
    describe.put("concurrency", settings.concurrency());
    describe.put("clients", settings.clients());
    describe.put("valueSize", settings.valueSize());
    describe.put("keys", keys);
    describe.put("keyDist", keyDist);
    describe.put("consistency", settings.consistency().name());
    if (factory.name().equals("flotilla")) {
      describe.put("sessions", sessions);
      describe.put("tls", clientTls != null);
    }
    if (settings.rate() > 0) {
      describe.put("rate", settings.rate());
    }
    System.out.println(Report.json(describe, r));
    if (hdrOut != null) {
      Report.writeHistogram(hdrOut, "flotilla bench latencies in nanoseconds; mix " + mix, r.latency());
    }
    return 0;
  }

  static Duration parse(String d) {
    return io.flotilla.chaos.ChaosSettings.parseDuration(d);
  }

  private static void awaitLeader(String endpoints, io.flotilla.client.tls.ClientTls tls) throws InterruptedException {
    try (FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(5)).withTls(tls))) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        try {
          c.blocking().put("bench-ready".getBytes(), new byte[0]);
          return;
        } catch (FlotillaException e) {
          new CountDownLatch(1).await(200, TimeUnit.MILLISECONDS); // cluster still electing
        }
      }
      throw new IllegalStateException("the local cluster elected no leader within 60 s");
    }
  }
}
