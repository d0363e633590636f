package io.flotilla.server.node;

import io.flotilla.client.Endpoint;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.admin.AdminServer;
import io.flotilla.server.admin.Dashboard;
import io.flotilla.server.admin.EventRing;
import io.flotilla.server.membership.MemberDirectory;
import io.flotilla.server.membership.MembershipService;
import io.flotilla.server.net.ClientPort;
import io.flotilla.server.net.NetMetrics;
import io.flotilla.server.net.PeerTransport;
import io.flotilla.server.request.RequestService;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.KvStateMachine;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Flotilla node (CockroachDB's Node): builds and wires its parts, owns its threads and ports.
 * What it wires, each with one concern:
 *
 * <ul>
 *   <li>{@link Store}: the write-ahead log, the RocksDB state machine and the {@link Replica} of
 *       each Raft group this node hosts (one today, {@link Store#KV_GROUP_ID});
 *   <li>the peer port: {@link PeerTransport} with {@link PeerOutbox} and {@link PeerInbox}, which
 *       wrap and unwrap every frame in one envelope naming its group ({@link PeerFrames});
 *   <li>{@link MemberDirectory} (where members live) and {@link MembershipService} (the leader's
 *       duties, joining, removal, membership requests);
 *   <li>the client port: {@link ClientPort} with {@link RequestService};
 *   <li>the admin port: {@link AdminServer} with {@link StatusService} and the metrics
 *       ({@link NodeMetrics}, {@link PeerTraffic}).
 * </ul>
 *
 * <p>Threads: the client port on {@code netThreads} event loops (which also run the membership
 * duties), the peer port and the admin port on one each (client abuse cannot starve them), the
 * Raft loop of each replica (which also writes and forces the log), and the status thread.
 */
public final class FlotillaNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FlotillaNode.class);
  /** Partial snapshots held at once, node-wide (so also the largest snapshot a node can receive). */
  private static final long MAX_SNAPSHOT_BYTES = 1L << 30;

  private final NodeConfig config;
  private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final NodeMetrics nodeMetrics;
  /** Recent elections, leaders, snapshots and membership changes, for the dashboard. */
  private final EventRing events;
  private final Dashboard dashboard;
  private final Store store;
  private final Replica replica;
  private final EventLoopGroup group;
  /** The peer port's own thread: client-port load cannot delay Raft traffic (admin has its own). */
  private final EventLoopGroup controlGroup;
  private final PeerTransport peers;
  private final MembershipService membership;
  /** Splits the ranges this node leads by size and by load (docs/ranges.md). */
  private final io.flotilla.server.store.RangeSplitter splitter;
  private final io.flotilla.server.placement.PlacementDriver placement;
  private final StatusService status;
  private final RequestService requests;
  private final ClientPort clientPort;
  private final AdminServer admin;
  /** TLS on every port and mutual TLS between nodes (docs/security.md); null: plain text. */
  private final io.flotilla.server.tls.NodeTls tls;

  private FlotillaNode(NodeConfig config, MembershipOptions membershipOptions) throws IOException, InterruptedException {
    this.config = config;
    // TLS first: a certificate that cannot be used stops the start before anything is opened.
    this.tls = config.tls() == null ? null : new io.flotilla.server.tls.NodeTls(config.id(), config.tls());
    this.events = new EventRing(config.id(), 200);
    this.nodeMetrics = new NodeMetrics(metrics, events);
    long opening = System.nanoTime();
    this.store = Store.open(config.dataDir(), config.id(), config.tickMillis(), nodeMetrics);
    long opened = System.nanoTime();
    KvStateMachine sm = store.stateMachine();
    store.setRangeListener(new RangeEvents(events, r -> NodeMetrics.bindReplica(metrics, r)));
    this.group = new NioEventLoopGroup(config.netThreads(), new DefaultThreadFactory("flotilla-net-" + config.id()));
    this.controlGroup = new NioEventLoopGroup(1, new DefaultThreadFactory("flotilla-peer-" + config.id()));
    PeerTraffic traffic = new PeerTraffic(metrics, config.members().keySet(), config.id());
    io.flotilla.server.tls.PortTls clientTls = io.flotilla.server.tls.PortTls.NONE;
    io.flotilla.server.tls.PortTls peerTls = io.flotilla.server.tls.PortTls.NONE;
    io.flotilla.server.tls.PortTls adminTls = io.flotilla.server.tls.PortTls.NONE;
    if (tls != null) {
      tls.bindMetrics(metrics);
      byte[] refusal = io.flotilla.client.wire.Frames.error(0, io.flotilla.client.proto.Error.Code.TLS_REFUSED,
          "node " + config.id() + " requires TLS on its client port: connect with a certificate from the"
          + " cluster's CA (--tls-dir, FLOTILLA_TLS_DIR; docs/security.md)").toByteArray();
      byte[] framed = java.nio.ByteBuffer.allocate(io.flotilla.client.wire.Frames.LENGTH_BYTES + refusal.length)
          .putInt(refusal.length).put(refusal).array();
      clientTls = io.flotilla.server.tls.PortTls.of("client", tls::clientPortContext, metrics).withPlainTextAnswer(framed);
      peerTls = io.flotilla.server.tls.PortTls.of("peer", tls::peerPortContext, metrics);
      adminTls = io.flotilla.server.tls.PortTls.of("admin", tls::adminPortContext, metrics);
    }
    PeerInbox inbox = new PeerInbox(config.id(),
        (group, from, fromLeader) -> fromLeader ? store.replicaOrPlaceholder(group, from) : store.replica(group),
        MAX_SNAPSHOT_BYTES, traffic, metrics);
    this.peers = PeerTransport.start(bind(config.peerBind()), controlGroup, inbox::accept,
        PeerTransport.Options.forTick(config.tickMillis()), peerTls, tls == null ? null : tls.peerClient());
    peers.setTraffic(traffic);
    MemberDirectory directory = new MemberDirectory(config, peers::setPeer);
    directory.refresh(sm.members());
    // A joining node has no configuration until the leader's log or snapshot brings one.
    Set<Long> voters = membershipOptions.join() != null ? Set.of() : config.members().keySet();
    PeerOutbox outbox = new PeerOutbox(peers);
    this.replica = store.openReplicas(config, voters, outbox::forGroup, () -> directory.refresh(sm.members()));
    // Restart time grows with the number of ranges: say where it goes.
    LOG.info("node {}: state machine and log opened in {} ms, {} ranges' replicas in {} ms", config.id(),
        (opened - opening) / 1_000_000, store.replicaIds().size(), (System.nanoTime() - opened) / 1_000_000);
    inbox.open();
    RaftNode raft = replica.raft();
    peers.addListener(new PeerTransport.Listener() {
      @Override
      public void snapshotAborted(long peer) {
        // It cannot arrive whole: probe and resend now. One snapshot is in flight per peer, of
        // whichever group; a replica not sending that peer a snapshot ignores this.
        store.replicas().forEach(r -> r.raft().reportSnapshotFailure(peer));
      }

      @Override
      public void linkLost(long peer) {
        // Followers of a leader there wake from quiescence; leaders stop waiting for it.
        store.replicas().forEach(r -> r.raft().reportUnreachable(peer));
      }

      @Override
      public void linkRestored(long peer) {
        store.replicas().forEach(r -> r.raft().reportReachable(peer));
      }
    });
    raft.setListener(nodeMetrics);
    NodeMetrics.bindNode(metrics, raft, replica.storage(), store.walDir());
    NodeMetrics.bindStore(metrics, store);
    NodeMetrics.bindScheduler(metrics, store.scheduler());
    this.splitter = new io.flotilla.server.store.RangeSplitter(config.id(), store, config.splits());
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.range.splits", splitter,
        io.flotilla.server.store.RangeSplitter::splitsBySize).tag("reason", "size")
        .description("splits this node made by itself as a range's leader").register(metrics);
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.range.splits", splitter,
        io.flotilla.server.store.RangeSplitter::splitsByLoad).tag("reason", "load")
        .description("splits this node made by itself as a range's leader").register(metrics);
    this.membership = new MembershipService(config, membershipOptions, store, replica, directory, group);
    this.placement = new io.flotilla.server.placement.PlacementDriver(config.id(), store, directory, membership,
        membershipOptions.deadAfter());
    store.setRangeIds(placement::allocateRangeId);
    NodeMetrics.bindPlacement(metrics, placement);
    this.status = new StatusService(config.id(), store, replica, directory, membership, placement);
    this.requests = new RequestService(config.id(), store, membership, directory, status::statusResult,
        placement.reports(), new io.flotilla.server.placement.PlacementRequests(replica, placement));
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.requests.forwarded", requests,
            RequestService::forwardedCount)
        .description("client requests forwarded to their range's leader on another node").register(metrics);
    this.clientPort = ClientPort.start(bind(config.clientBind()), group, group, nodeMetrics.timed(requests),
        config.net().clientPort(), clientTls);
    NetMetrics.bind(metrics, clientPort, peers);
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.peer.identity.refused", peers,
            PeerTransport::identityRefused)
        .description("peer connections refused: their certificate named another node than the one they spoke for")
        .register(metrics);
    java.util.function.BooleanSupplier healthy = () -> !raft.isStopped() || membership.removedByCluster();
    this.dashboard = new Dashboard(config.id(), metrics, events, status::adminStatusBrief, healthy,
        () -> raft.configuration().toString(), tls == null ? null : tls.adminHttpContext());
    this.admin = AdminServer.start(bind(config.adminBind()),
        new AdminServer.Sources(healthy, this::adminStatus,
            metrics, config.faultInjection() ? faultControl(peers, raft) : null, dashboard), adminTls);
    dashboard.setAdminAddress(config.members().get(config.id()).peer().host() + ":" + admin.localAddress().getPort());
    store.start();
    events.record(EventRing.NODE, "node " + config.id() + " started (applied index " + raft.appliedIndex() + ")");
    LOG.info("node {} started: client {}, peer {}, admin {}, applied {}", config.id(),
        clientPort.localAddress(), peers.localAddress(), admin.localAddress(), raft.appliedIndex());
    membership.start();
    splitter.start();
    placement.start();
  }

  public static FlotillaNode start(NodeConfig config) throws IOException, InterruptedException {
    return new FlotillaNode(config, MembershipOptions.STATIC);
  }

  public static FlotillaNode start(NodeConfig config, MembershipOptions membership)
      throws IOException, InterruptedException {
    return new FlotillaNode(config, membership);
  }

  /** {@code /status}: the status service's answer, and how this node's certificate stands. */
  private CompletableFuture<?> adminStatus() {
    return status.adminStatus().thenApply(s -> {
      if (s instanceof java.util.Map<?, ?> m) {
        java.util.Map<Object, Object> copy = new java.util.LinkedHashMap<>(m);
        copy.put("tls", tls == null ? java.util.Map.of("enabled", false) : tls.status());
        return copy;
      }
      return s;
    });
  }

  private static InetSocketAddress bind(Endpoint e) {
    return new InetSocketAddress(e.host(), e.port());
  }

  private static AdminServer.FaultControl faultControl(PeerTransport peers, RaftNode raft) {
    LOG.warn("fault injection is ENABLED on this node (tests and chaos runs only)");
    return new AdminServer.FaultControl() {
      @Override
      public void dropFramesTo(Set<Long> ids) {
        peers.dropFramesTo(ids);
      }

      @Override
      public Set<Long> droppingFramesTo() {
        return peers.droppingFramesTo();
      }

      @Override
      public long framesDroppedByFault() {
        return peers.framesDroppedByFault();
      }

      @Override
      public void stallRaftLoop(long millis) {
        raft.stallForTesting(millis);
      }
    };
  }

  /**
   * Turns on the dashboard's kill and restart buttons, forwarded to the local-cluster tool at
   * {@code tool} that started this node (its hidden {@code --local-control} option). Never on a
   * node started any other way.
   */
  public void enableLocalControl(java.net.URI tool) {
    dashboard.enableLocalControl(tool);
  }

  /**
   * TEST ONLY: the value of one sample as {@code /metrics} shows it ({@code name} or
   * {@code name{label="value"}}), or NaN when there is none.
   */
  public double metricForTesting(String sample) {
    for (String line : metrics.scrape().split("\n")) {
      if (line.startsWith(sample + " ") || (!sample.contains("{") && line.startsWith(sample + "{"))) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return Double.NaN;
  }

  /** TEST ONLY: what {@code /status} answers. */
  public Object adminStatusForTesting() throws Exception {
    return adminStatus().get(10, TimeUnit.SECONDS);
  }

  /** TEST ONLY: holds the Raft loop for {@code millis} (see {@link RaftNode#stallForTesting}). */
  public CompletableFuture<Void> stallRaftLoopForTesting(long millis) {
    return replica.raft().stallForTesting(millis);
  }

  public InetSocketAddress clientAddress() {
    return clientPort.localAddress();
  }

  public InetSocketAddress peerAddress() {
    return peers.localAddress();
  }

  public InetSocketAddress adminAddress() {
    return admin.localAddress();
  }

  public boolean isLeader() {
    return replica.raft().isLeader();
  }

  public long appliedIndex() {
    return replica.stateMachine().appliedIndex();
  }

  /** The Raft driver's view of this node (role, term, commit, snapshot index, followers' match index). */
  public RaftNode.Status raftStatus() throws Exception {
    return replica.raft().status().get(5, TimeUnit.SECONDS);
  }

  /**
   * Hex digest of range {@code rangeId} with its applied index ("applied:digest"), or "absent" when
   * this node holds no such range: equal on replicas that applied the same log prefix.
   */
  /** Status builds (admin {@code /status}) begun on the status thread since the start; for tests. */
  long statusBuildsStarted() {
    return status.statusBuildsStarted();
  }

  /** Requests this node forwarded to the leader of their range on another node. */
  public long forwardedRequests() {
    return requests.forwardedCount();
  }

  /** This node's view of range {@code rangeId}'s configuration (empty when it holds no replica of it). */
  public Configuration rangeConfiguration(long rangeId) {
    var r = store.replica(rangeId);
    return r == null ? Configuration.EMPTY : r.raft().configuration();
  }

  /** The ranges this node holds a placeholder for (told of by their leader, not received yet). */
  /** The ranges this node holds a replica (or placeholder) of, in id order. */
  public java.util.List<Long> replicaIds() {
    return store.replicaIds().stream().sorted().toList();
  }

  public java.util.List<Long> placeholders() {
    return store.placeholderIds();
  }

  public String rangeDigest(long rangeId) {
    var r = store.stateMachine().range(rangeId);
    return r == null ? "absent" : r.appliedIndex() + ":" + java.util.HexFormat.of().formatHex(r.digest());
  }

  /** Hash of the replicated state; equal on every replica at the same applied index. */
  public byte[] digest() {
    return replica.stateMachine().digest();
  }

  /** Whether this node was removed from the cluster (it then refuses clients and never votes). */
  public boolean isRemoved() {
    return membership.isRemoved();
  }

  /** The membership in effect on this node. */
  public Configuration configuration() {
    return replica.raft().configuration();
  }

  /**
   * Leaves the cluster's service to the others before stopping: a leader hands leadership to its
   * most caught-up follower and waits (up to {@code wait}) until it is gone, so clients see one
   * short redirect instead of an election timeout. Then closes everything.
   */
  public String shutdownGracefully(Duration wait) throws IOException {
    String outcome = membership.handOffLeadership(wait);
    close();
    return outcome;
  }

  @Override
  public void close() throws IOException {
    placement.close();
    splitter.close();
    membership.close();
    // Every request already accepted gets its answer before its connection closes; the Raft
    // node still runs meanwhile, so writes in flight can still commit (or time out).
    clientPort.drainAndClose(Duration.ofMillis(RequestService.DEFAULT_TIMEOUT_MS));
    requests.close();
    admin.close();
    dashboard.close();
    status.close();
    store.stopReplicas();
    peers.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    controlGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    if (tls != null) {
      tls.close();
    }
    store.close();
  }
}
