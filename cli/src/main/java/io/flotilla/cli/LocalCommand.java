package io.flotilla.cli;

import io.flotilla.server.local.LocalCluster;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Starts a local cluster of separate JVMs and keeps it up until Ctrl-C or SIGTERM; with
 * {@code --app}, the booking site beside it. Prints the dashboard's URL; its kill and restart
 * buttons work here (this process holds the node processes).
 */
@Command(name = "local", mixinStandardHelpOptions = true,
    description = "Starts NODES nodes as separate processes on 127.0.0.1 and stops them all on"
        + " Ctrl-C or SIGTERM. Node logs: DATA-DIR/nodeN.log. Prints the cluster dashboard's URL"
        + " (with kill and restart buttons); --app also serves the booking site.")
final class LocalCommand implements Callable<Integer> {
  @Option(names = "--nodes", defaultValue = "3", description = "Default: ${DEFAULT-VALUE}.")
  int nodes;

  @Option(names = "--base-port", defaultValue = "7000",
      description = "Node N listens on BASE+10(N-1) (client), +1 (peer), +2 (admin)."
          + " Default: ${DEFAULT-VALUE}.")
  int basePort;

  @Option(names = "--data-dir", defaultValue = ".flotilla/local",
      description = "Default: ${DEFAULT-VALUE}.")
  Path dataDir;

  @Option(names = "--server-arg", paramLabel = "ARG",
      description = "Passed to every node's `server` command, e.g. --server-arg=--lease-reads"
          + " or --server-arg=--snapshot-entries=5000 (repeatable).")
  java.util.List<String> serverArgs = new java.util.ArrayList<>();

  @Option(names = "--ranges", defaultValue = "1",
      description = "Split the fresh cluster into this many ranges, evenly over the keys bench writes"
          + " (key-0000000000..), with their leaders spread over the nodes (docs/ranges.md). Default: ${DEFAULT-VALUE}.")
  int ranges;

  @Option(names = "--app", description = "Also serve the booking site (bin/flotilla app) on this cluster.")
  boolean app;

  @Option(names = "--app-listen", defaultValue = "127.0.0.1:8080",
      description = "Where --app listens, HOST:PORT. Default: ${DEFAULT-VALUE}.")
  String appListen;

  @Option(names = "--tls",
      description = "TLS on every port and mutual TLS between nodes, with a CA and certificates made in"
          + " DATA-DIR/tls (reused by later runs); clients use DATA-DIR/tls/client (--tls-dir). Default: plain text.")
  boolean tls;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    LocalCluster cluster = new LocalCluster(nodes, basePort, dataDir, serverArgs).withDashboardControl();
    io.flotilla.client.tls.ClientTls clientTls = null;
    java.nio.file.Path clientDir = null;
    if (tls) {
      clientDir = LocalTls.ensure(dataDir.resolve("tls"), nodes);
      cluster.withTls(dataDir.resolve("tls"));
      clientTls = io.flotilla.client.tls.ClientTls.fromDir(clientDir);
    }
    // Waits until every node serves; a node that cannot start fails the command with its error
    // (FlotillaMain prints it), and the endpoints below are never printed for a broken cluster.
    cluster.startAll();
    java.io.PrintWriter out = spec.commandLine().getOut();
    Presplit.apply(cluster.clientEndpoints(), clientTls, ranges, 100_000, nodes, out);
    for (int i = 1; i <= nodes; i++) {
      out.printf("node %d: client %s  peer %s  admin %s://%s%n", i, cluster.client(i),
          cluster.peer(i), tls ? "https" : "http", cluster.admin(i));
    }
    out.println("endpoints: " + cluster.clientEndpoints());
    out.println("dashboard: " + cluster.dashboardUrl(1) + "  (any node's admin URL serves it)");
    io.flotilla.app.AppServer site = null;
    if (app) {
      site = io.flotilla.app.AppServer.start(io.flotilla.app.AppServer.Options.of(cluster.clientEndpoints(), appListen)
          .withTls(clientTls));
      out.println("booking site: " + site.url() + "/");
    }
    io.flotilla.app.AppServer siteToStop = site;
    out.println("try: bin/flotilla put --endpoints " + cluster.clientEndpoints()
        + (tls ? " --tls-dir " + clientDir : "") + " hello world");
    if (tls) {
      out.println("TLS on every port; CA: " + dataDir.resolve("tls/ca/ca.pem")
          + " (the dashboard's certificate is from it: your browser will ask)");
    }
    out.println("Ctrl-C stops the cluster; data stays in " + dataDir);
    out.flush();
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (siteToStop != null) {
        siteToStop.close();
      }
      cluster.close();
      done.countDown();
    }));
    done.await();
    return 0;
  }
}
