package io.flotilla.server;

import io.flotilla.client.Endpoint;
import io.flotilla.server.node.FlotillaNode;
import io.flotilla.server.node.MembershipOptions;
import io.flotilla.server.node.NetLimits;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.server.node.NodeIdentity;
import io.flotilla.server.node.NodeIds;
import io.flotilla.server.node.SplitPolicy;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs one node until SIGTERM or Ctrl-C: {@code bin/flotilla server} (a subcommand of the CLI) and
 * {@link ServerMain} (the node process alone).
 */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Runs one Flotilla node until SIGTERM or Ctrl-C.")
public final class ServerCommand implements Callable<Integer> {
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

  @Option(names = "--id",
      description = "This node's id: positive, unique in the cluster, never reused after removal. Kept in"
          + " DATA_DIR/node-id at the first start, so later starts may omit it. Optional with --join (the"
          + " cluster hands out a new id) and --bootstrap (1); required with --members. With TLS the"
          + " certificate's node id is the default (and the only id it may run as).")
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

  @Option(names = "--members", split = ",",
      description = "Static membership: every member as ID=PEERHOST:PEERPORT[/CLIENTHOST:CLIENTPORT];"
          + " the client address lets followers send clients to the leader. Host names are"
          + " resolved at every connect. One of --members, --bootstrap, --join.")
  String[] members;

  @Option(names = "--bootstrap",
      description = "Start a new cluster with this node as its only member (it becomes leader);"
          + " others --join it.")
  boolean bootstrap;

  @Option(names = "--join", paramLabel = "HOST:PORT",
      description = "Join an existing cluster through any member's client address: this node is"
          + " added as a learner, catches up, and is promoted to voter. Ignored on a restart once"
          + " the node has joined.")
  String join;

  @Option(names = "--advertise-peer", paramLabel = "HOST:PORT",
      description = "With --bootstrap/--join: the peer address other members use to reach this"
          + " node (by name). Default: --peer.")
  String advertisePeer;

  @Option(names = "--advertise-client", paramLabel = "HOST:PORT",
      description = "With --bootstrap/--join: the client address handed to clients. Default: --client.")
  String advertiseClient;

  @Option(names = "--promote-gap", defaultValue = "" + MembershipOptions.DEFAULT_PROMOTE_GAP,
      description = "When leader: promote a learner to voter once its log is within this many"
          + " entries of the leader's (negative: only by `member promote`). Default: ${DEFAULT-VALUE}.")
  long promoteGap;

  @Option(names = "--dead-after", defaultValue = "5m", paramLabel = "DURATION",
      description = "While this node runs the placement driver (it leads the system range): a member"
          + " silent this long is dead and its replicas are rebuilt on the other nodes (e.g. 90s, 5m)."
          + " Default: ${DEFAULT-VALUE}.")
  String deadAfter;

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

  @Option(names = "--lease-reads",
      description = "LINEARIZABLE reads on the leader are served under its lease (no heartbeat"
          + " round) while a quorum answered within the election timeout minus a clock-drift"
          + " margin of 2 ticks. Off by default: correct only if no follower's monotonic clock"
          + " runs more than 12.5%% faster than the leader's (pauses of the Raft loop or the process"
          + " are accounted for); see docs/raft.md.")
  boolean leaseReads;

  @Option(names = "--range-max-bytes", defaultValue = "67108864",
      description = "A range larger than this is split by its leader into pieces of about half of it"
          + " (0: never by size). Default: ${DEFAULT-VALUE} (64 MiB).")
  long rangeMaxBytes;

  @Option(names = "--split-load-qps", defaultValue = "0",
      description = "A range whose leader serves more requests a second than this for"
          + " --split-load-seconds in a row is split at the median of the keys asked for (0: never by"
          + " load, the default: with many ranges a node does fewer puts today, docs/ranges.md).")
  long splitLoadQps;

  @Option(names = "--split-load-seconds", defaultValue = "10",
      description = "How long a range's load must stay above --split-load-qps. Default: ${DEFAULT-VALUE}.")
  int splitLoadSeconds;

  @Option(names = "--quiesce",
      description = "Idle ranges quiesce: a range with nothing to do stops its heartbeats and"
          + " election timers until a request or message wakes it, so a node of many idle ranges"
          + " costs almost nothing (docs/ranges.md). Off by default for now.")
  boolean quiesce;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--tls-dir", paramLabel = "DIR",
      description = "TLS on every port, mutual TLS between nodes, with the files of DIR as"
          + " `bin/flotilla certs node` writes them (cert.pem, key.pem, ca.pem). Reloaded when they"
          + " change (rotation without a restart). Default: plain text. See docs/security.md.")
  Path tlsDir;

  @Option(names = "--tls-cert", paramLabel = "FILE",
      description = "Instead of --tls-dir: this node's certificate (PEM, chain allowed); with --tls-key and --tls-ca.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "This node's private key (PEM, PKCS#8).")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "The cluster CA's certificate(s) (PEM).")
  Path tlsCa;

  @Option(names = "--net-threads", defaultValue = "1",
      description = "Network (Netty event-loop) threads for the client port, 1 to 64 (the peer and"
          + " admin ports have a thread each)."
          + " Default: ${DEFAULT-VALUE}: with the Raft loop beside it (which also writes the log),"
          + " one network thread costs the fewest wake-ups per request on a small machine"
          + " (docs/benchmarks.md); raise it on a machine with many cores and many clients.")
  int netThreads;

  @Option(names = "--max-client-connections",
      defaultValue = "" + io.flotilla.server.net.ClientPort.Limits.DEFAULT_MAX_CONNECTIONS,
      description = "Open client connections at most; one more is answered UNAVAILABLE (request id"
          + " 0) and closed before anything on it is read. Keep it below the process's file"
          + " descriptor limit. Default: ${DEFAULT-VALUE}.")
  int maxClientConnections;

  @Option(names = "--client-input-budget-bytes",
      defaultValue = "" + io.flotilla.server.net.ClientPort.Limits.DEFAULT_INPUT_BUDGET_BYTES,
      description = "Bytes of incomplete request frames all client connections may buffer"
          + " together (a frame is buffered only as it arrives); the connection whose frame would"
          + " pass it is answered UNAVAILABLE and closed. Default: ${DEFAULT-VALUE} (64 MiB).")
  long clientInputBudgetBytes;

  @Option(names = "--frame-timeout-ms",
      defaultValue = "" + io.flotilla.server.net.ClientPort.Limits.DEFAULT_FRAME_TIMEOUT_MILLIS,
      description = "A request frame still incomplete this long after its first byte closes its"
          + " connection (BAD_FRAME). Default: ${DEFAULT-VALUE}.")
  long frameTimeoutMillis;

  @Option(names = "--idle-timeout-ms",
      defaultValue = "" + io.flotilla.server.net.ClientPort.Limits.DEFAULT_IDLE_TIMEOUT_MILLIS,
      description = "A client connection that sent nothing and has nothing in flight for this long"
          + " is closed (0: never). Default: ${DEFAULT-VALUE}.")
  long idleTimeoutMillis;

  @Option(names = "--enable-fault-injection", hidden = true,
      description = "Tests and chaos runs only: the admin port accepts POST /fault?drop-to=IDS,"
          + " which drops this node's frames to those peers, and POST /fault?stall-raft-ms=N,"
          + " which holds its Raft loop for N ms.")
  boolean faultInjection;

  @Option(names = "--local-control", hidden = true, paramLabel = "URL",
      description = "Given only by a local-cluster tool (bin/flotilla local, demo) to the nodes it"
          + " starts: where the dashboard's kill and restart buttons are forwarded (that tool holds"
          + " the processes). Without it the buttons do not exist.")
  java.net.URI localControl;

  @Override
  public Integer call() throws Exception {
    int modes = (members != null ? 1 : 0) + (bootstrap ? 1 : 0) + (join != null ? 1 : 0);
    if (modes != 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "give exactly one of --members (static), --bootstrap (new cluster) or --join HOST:PORT");
    }
    if (netThreads < 1 || netThreads > NodeConfig.MAX_NET_THREADS) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--net-threads must be 1 to " + NodeConfig.MAX_NET_THREADS + ", got " + netThreads);
    }
    io.flotilla.client.tls.TlsFiles tls = tlsFiles();
    NetLimits limits;
    SplitPolicy splits;
    try {
      limits = new NetLimits(maxClientConnections, clientInputBudgetBytes, frameTimeoutMillis, idleTimeoutMillis);
      splits = new SplitPolicy(rangeMaxBytes, splitLoadQps, splitLoadSeconds, SplitPolicy.DEFAULT.cooldownSeconds());
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    parseDuration("--dead-after", deadAfter);
    // After every check of the arguments: a usage error leaves no data directory behind.
    NodeIdentity identity = identity();
    long id = identity.id();
    Map<Long, NodeConfig.Member> memberMap = members != null ? parseMembers(members)
        : Map.of(id, new NodeConfig.Member(Endpoint.parse(advertisePeer != null ? advertisePeer : peer),
            Endpoint.parse(advertiseClient != null ? advertiseClient : client)));
    MembershipOptions membership = (join != null ? MembershipOptions.joining(Endpoint.parse(join))
        : MembershipOptions.STATIC).withPromoteGap(promoteGap).withIncarnation(identity.incarnation())
        .withDeadAfter(parseDuration("--dead-after", deadAfter));
    NodeConfig config = new NodeConfig(id, dataDir, Endpoint.parse(client), Endpoint.parse(peer),
        Endpoint.parse(admin), memberMap, tickMillis, snapshotEntries, snapshotBytes,
        faultInjection).withLeaseReads(leaseReads).withNetThreads(netThreads).withQuiesce(quiesce).withSplits(splits);
    config = config.withNet(limits).withTls(tls);
    FlotillaNode node;
    try {
      node = FlotillaNode.start(config, membership);
    } catch (io.flotilla.client.tls.TlsConfigException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "TLS: " + e.getMessage());
    }
    if (localControl != null) {
      node.enableLocalControl(localControl);
    }
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
    System.out.printf("node %d serving clients at %s, peers at %s, admin at %s://%s%s%n", id,
        node.clientAddress(), node.peerAddress(), tls != null ? "https" : "http", node.adminAddress(),
        tls != null ? " (TLS on every port)" : "");
    System.out.flush();
    stopped.await();
    return 0;
  }

  /**
   * The node this data directory belongs to (docs/operations.md, "Node identity"): its
   * {@code node-id} file, or one made now from {@code --id}, from {@code --bootstrap} (node 1), or
   * from an id the cluster at {@code --join} hands out.
   */
  private NodeIdentity identity() throws Exception {
    if (id < 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--id must be positive, got " + id);
    }
    var kept = NodeIdentity.read(dataDir);
    if (kept.isPresent()) {
      if (id != 0 && id != kept.get().id()) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "data directory " + dataDir
            + " belongs to node " + kept.get().id() + " (its " + NodeIdentity.FILE + " file), not to node " + id
            + ": give --id " + kept.get().id() + " (or none), or another data directory");
      }
      return kept.get();
    }
    if (id == 0 && tlsFiles() != null) {
      // With TLS the certificate names the node (docs/security.md): a node must run as that id,
      // so it is the id to take, rather than a new one the certificate could not match.
      id = certifiedNodeId();
    }
    if (id != 0) {
      return NodeIdentity.create(dataDir, id);
    }
    if (bootstrap) {
      return NodeIdentity.create(dataDir, 1);
    }
    if (join == null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--id is required with --members");
    }
    if (NodeIdentity.holdsState(dataDir)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "data directory " + dataDir
          + " holds a node's state but no " + NodeIdentity.FILE + " file: give that node's --id");
    }
    long allocated = NodeIds.allocate(Endpoint.parse(join), java.time.Duration.ofMinutes(2));
    System.out.printf("node id %d handed out by the cluster at %s%n", allocated, join);
    return NodeIdentity.create(dataDir, allocated);
  }

  /** The node id this node's certificate names. */
  private long certifiedNodeId() {
    try {
      var identity = new io.flotilla.client.tls.TlsMaterial(tlsFiles()).current().identity();
      if (identity instanceof io.flotilla.client.tls.TlsIdentity.Node node) {
        return node.id();
      }
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "TLS: " + tlsFiles().cert() + " is the certificate of " + identity + ", not of a node");
    } catch (io.flotilla.client.tls.TlsConfigException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "TLS: " + e.getMessage());
    }
  }

  /** The TLS files of --tls-dir or of --tls-cert/--tls-key/--tls-ca; null: plain text. */
  private io.flotilla.client.tls.TlsFiles tlsFiles() {
    int separate = (tlsCert != null ? 1 : 0) + (tlsKey != null ? 1 : 0) + (tlsCa != null ? 1 : 0);
    if (tlsDir != null && separate > 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "give --tls-dir, or --tls-cert, --tls-key and --tls-ca, not both");
    }
    if (separate > 0 && separate < 3) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--tls-cert, --tls-key and --tls-ca go together: give all three (or one --tls-dir)");
    }
    io.flotilla.client.tls.TlsFiles files = tlsDir != null ? io.flotilla.client.tls.TlsFiles.inDir(tlsDir)
        : separate == 3 ? new io.flotilla.client.tls.TlsFiles(tlsCert, tlsKey, tlsCa) : null;
    if (files == null) {
      return null;
    }
    try {
      return files.requireReadable();
    } catch (io.flotilla.client.tls.TlsConfigException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
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

  /** {@code 90s}, {@code 5m}, {@code 1h}, {@code 500ms}: a positive duration, else a usage error. */
  private java.time.Duration parseDuration(String option, String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m|h)").matcher(text.trim());
    if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), option + " must be a positive duration"
          + " such as 90s, 5m or 1h, not '" + text + "'");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> java.time.Duration.ofMillis(n);
      case "s" -> java.time.Duration.ofSeconds(n);
      case "m" -> java.time.Duration.ofMinutes(n);
      default -> java.time.Duration.ofHours(n);
    };
  }
}
