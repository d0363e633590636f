package io.flotilla.server.cli;

import io.flotilla.client.Endpoint;
import io.flotilla.server.node.FlotillaNode;
import io.flotilla.server.node.NodeConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs one node until SIGTERM or Ctrl-C. */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Runs one Flotilla node until SIGTERM or Ctrl-C.")
final class ServerCommand implements Callable<Integer> {
  static {
    // Peers are found by name at every connect. The JDK caches a lookup for 30 s by default, so a
    // container rescheduled to a new IP would stay unreachable that long; 5 s bounds it. Set
    // before the first lookup: the cache policy is read once. (Operators may still override it in
    // the JVM's java.security file or with -Dsun.net.inetaddr.ttl.)
    if (System.getProperty("sun.net.inetaddr.ttl") == null
        && java.security.Security.getProperty("networkaddress.cache.ttl") == null) {
      java.security.Security.setProperty("networkaddress.cache.ttl", "5");
    }
    if (java.security.Security.getProperty("networkaddress.cache.negative.ttl") == null
        || "10".equals(java.security.Security.getProperty("networkaddress.cache.negative.ttl"))) {
      java.security.Security.setProperty("networkaddress.cache.negative.ttl", "1");
    }
  }

  @Option(names = "--id", required = true, description = "This node's id (one of --members).")
  long id;

  @Option(names = "--data-dir", required = true,
      description = "Data directory (raft/ holds the log, state/ the RocksDB state).")
  Path dataDir;

  @Option(names = "--client", required = true, description = "Client port to listen on, HOST:PORT.")
  String client;

  @Option(names = "--peer", required = true, description = "Peer port to listen on, HOST:PORT.")
  String peer;

  @Option(names = "--admin", required = true, description = "Admin HTTP port, HOST:PORT.")
  String admin;

  @Option(names = "--members", required = true, split = ",",
      description = "Every member as ID=PEERHOST:PEERPORT[/CLIENTHOST:CLIENTPORT]; the client"
          + " address lets followers send clients to the leader. Host names are resolved at"
          + " every connect.")
  String[] members;

  @Option(names = "--tick-ms", defaultValue = "100",
      description = "One Raft tick; elections time out after 10-20 ticks. Default: ${DEFAULT-VALUE}.")
  long tickMillis;

  @Option(names = "--snapshot-entries", defaultValue = "" + NodeConfig.DEFAULT_SNAPSHOT_ENTRIES,
      description = "Snapshot the state and compact the log every this many applied entries"
          + " (0: not by count). Default: ${DEFAULT-VALUE}.")
  long snapshotEntries;

  @Option(names = "--snapshot-bytes", defaultValue = "" + NodeConfig.DEFAULT_SNAPSHOT_BYTES,
      description = "... or every this many applied payload bytes (0: not by size)."
          + " Default: ${DEFAULT-VALUE}.")
  long snapshotBytes;

  @Option(names = "--shutdown-transfer-ms", defaultValue = "3000",
      description = "On SIGTERM a leader first hands leadership to its most caught-up follower and"
          + " waits up to this long for it to take over. Default: ${DEFAULT-VALUE}.")
  long shutdownTransferMillis;

  @Option(names = "--enable-fault-injection", hidden = true,
      description = "Tests and chaos runs only: the admin port accepts POST /fault?drop-to=IDS,"
          + " which drops this node's frames to those peers.")
  boolean faultInjection;

  @Override
  public Integer call() throws Exception {
    NodeConfig config = new NodeConfig(id, dataDir, Endpoint.parse(client), Endpoint.parse(peer),
        Endpoint.parse(admin), parseMembers(members), tickMillis, snapshotEntries, snapshotBytes,
        faultInjection);
    FlotillaNode node = FlotillaNode.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        String outcome = node.shutdownGracefully(java.time.Duration.ofMillis(shutdownTransferMillis));
        System.out.printf("node %d stopped (%s)%n", id, outcome);
        System.out.flush();
      } catch (Exception e) {
        System.err.println("error while stopping: " + e);
      } finally {
        stopped.countDown();
      }
    }));
    System.out.printf("node %d serving clients at %s, peers at %s, admin at http://%s%n", id,
        node.clientAddress(), node.peerAddress(), node.adminAddress());
    System.out.flush();
    stopped.await();
    return 0;
  }

  static Map<Long, NodeConfig.Member> parseMembers(String[] specs) {
    Map<Long, NodeConfig.Member> out = new HashMap<>();
    for (String spec : specs) {
      int eq = spec.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("member '" + spec + "' is not ID=HOST:PORT");
      }
      long mid = Long.parseLong(spec.substring(0, eq).trim());
      String rest = spec.substring(eq + 1);
      int slash = rest.indexOf('/');
      Endpoint peer = Endpoint.parse(slash < 0 ? rest : rest.substring(0, slash));
      Endpoint client = slash < 0 ? null : Endpoint.parse(rest.substring(slash + 1));
      out.put(mid, new NodeConfig.Member(peer, client));
    }
    return out;
  }
}
