package io.flotilla.server.node;

import io.flotilla.client.Endpoint;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.Role;
import io.flotilla.raft.codec.MessageCodec;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.node.ConfChangeException;
import io.flotilla.raft.node.RaftException;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.raft.storage.WalRaftStorage;
import io.flotilla.server.admin.AdminServer;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.net.ClientPort;
import io.flotilla.server.net.PeerFrameKind;
import io.flotilla.server.net.PeerTransport;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.StorageOptions;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.Result;
import io.flotilla.wal.WalOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Flotilla node: the write-ahead log and Raft driver, the RocksDB state machine, and the three
 * ports (client, peer, admin). Client writes become Raft proposals whose applied results are sent
 * back; reads are served from the local state machine at the consistency the client asked for.
 *
 * <p>One Raft group per node. Membership starts static ({@code members}: all voters, or just this
 * node for a bootstrapped cluster) or by joining ({@link MembershipOptions#join}); the leader adds
 * learners, promotes them once caught up, and removes members by joint consensus. Where each member
 * lives is replicated state too (member records in the state machine), so any node, and any
 * snapshot, can reach every member by name. Snapshots (RocksDB checkpoints, see
 * {@link KvApplier}) compact the log; a follower behind the compaction point receives the snapshot
 * in chunks of {@value #SNAPSHOT_CHUNK_BYTES} bytes on the peer port. Inbound peer frames go through
 * {@link PeerInbox}, which trusts none of them.
 */
public final class FlotillaNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FlotillaNode.class);
  private static final long GROUP = 1;
  private static final long DEFAULT_TIMEOUT_MS = 5_000;
  static final int SNAPSHOT_CHUNK_BYTES = 1 << 20;
  /** Partial snapshots held at once, node-wide (so also the largest snapshot a node can receive). */
  private static final long MAX_SNAPSHOT_BYTES = 1L << 30;

  private final NodeConfig config;
  private final WalRaftStorage storage;
  private final KvStateMachine sm;
  private final KvApplier applier;
  private final KvTranslator kv = new KvTranslator(StorageOptions.defaults());
  private final EventLoopGroup group;
  /** The peer port's own thread: client-port load cannot delay Raft traffic (admin has its own). */
  private final EventLoopGroup controlGroup;
  private final PeerTransport peers;
  /** Inbound peer frames: decoded, validated, counted, snapshot chunks reassembled. */
  private final PeerInbox inbox;
  private final RaftNode raft;
  private final ClientPort clientPort;
  private final AdminServer admin;
  private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final NodeMetrics nodeMetrics = new NodeMetrics(metrics);

  private final MembershipOptions membership;
  /** Where members live: static config, then the replicated member records; read from any thread. */
  private final Map<Long, NodeConfig.Member> directory = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.Set<Long> publishing = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicBoolean promoting = new java.util.concurrent.atomic.AtomicBoolean();
  private volatile java.util.concurrent.ScheduledFuture<?> leaderDuties;
  private final java.util.concurrent.atomic.AtomicReference<io.flotilla.client.FlotillaClient> joinClient =
      new java.util.concurrent.atomic.AtomicReference<>();
  private volatile boolean closed;
  /** Told by the cluster that this node was removed while it was away (see maybeAskWhetherRemoved). */
  private volatile boolean removedByCluster;
  // Touched only by the duties task:
  private long leaderlessSinceNanos;
  private long lastRemovalCheckNanos;
  private final java.util.concurrent.atomic.AtomicBoolean removalCheckInFlight =
      new java.util.concurrent.atomic.AtomicBoolean();
  private static final long REMOVAL_CHECK_AFTER_NANOS = TimeUnit.SECONDS.toNanos(3);
  private static final long REMOVAL_CHECK_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);

  private FlotillaNode(NodeConfig config, MembershipOptions membership) throws IOException, InterruptedException {
    this.config = config;
    this.membership = membership;
    this.storage = WalRaftStorage.open(WalOptions.defaults(config.dataDir().resolve("raft")), nodeMetrics);
    this.sm = KvStateMachine.open(config.dataDir().resolve("state"), StorageOptions.defaults());
    long applied = Recovery.startApplied(storage, sm.appliedIndex());
    HardState hs = storage.hardState();
    if (applied > hs.commitIndex()) {
      // Applied entries are committed by definition; the log persists the commit index lazily.
      storage.setHardState(hs.withCommitIndex(applied));
    }
    this.applier = new KvApplier(sm, config.dataDir().resolve("snapshots"));
    this.group = new NioEventLoopGroup(config.netThreads(), new DefaultThreadFactory("flotilla-net-" + config.id()));
    this.controlGroup = new NioEventLoopGroup(1, new DefaultThreadFactory("flotilla-peer-" + config.id()));
    this.inbox = new PeerInbox(GROUP, config.id(), MAX_SNAPSHOT_BYTES, metrics);
    this.peers = PeerTransport.start(bind(config.peerBind()), controlGroup, inbox::accept,
        PeerTransport.Options.forTick(config.tickMillis()));
    config.members().forEach((id, m) -> {
      directory.put(id, m);
      if (id != config.id()) {
        peers.setPeer(id, m.peer());
      }
    });
    refreshMembers();
    // A joining node has no configuration until the leader's log or snapshot brings one.
    java.util.Set<Long> voters = membership.join() != null ? java.util.Set.of() : config.members().keySet();
    RaftConfig rc = RaftConfig.of(GROUP, config.id(), voters,
        new SplittableRandom(System.nanoTime() ^ config.id())).withApplied(applied);
    if (config.leaseReads()) {
      rc = rc.withLeaseRead(NodeConfig.LEASE_DRIFT_TICKS);
    }
    applier.onMembershipChange(this::refreshMembers);
    this.raft = new RaftNode(rc, storage, this::send, applier, config.tickMillis(),
        new RaftNode.SnapshotPolicy(config.snapshotEntries(), config.snapshotBytes()));
    inbox.attach(raft);
    peers.addListener(new PeerTransport.Listener() {
      @Override
      public void snapshotAborted(long peer) { // it cannot arrive whole: probe and resend now
        raft.reportSnapshotFailure(peer);
      }
    });
    raft.setListener(nodeMetrics);
    NodeMetrics.bindNode(metrics, raft, storage, config.dataDir().resolve("raft"));
    NodeMetrics.bindPeers(metrics, peers, config.members().keySet(), config.id());
    this.clientPort = ClientPort.start(bind(config.clientBind()), group, group, this::handle,
        config.net().clientPort());
    io.flotilla.server.net.NetMetrics.bind(metrics, clientPort, peers);
    this.admin = AdminServer.start(bind(config.adminBind()),
        new AdminServer.Sources(() -> !raft.isStopped() || removedByCluster, this::status, metrics,
            config.faultInjection() ? faultControl(peers, raft) : null));
    raft.start();
    this.leaderDuties = group.next().scheduleWithFixedDelay(this::leaderDuties, 200, 200, TimeUnit.MILLISECONDS);
    LOG.info("node {} started: client {}, peer {}, admin {}, applied {}", config.id(),
        clientPort.localAddress(), peers.localAddress(), admin.localAddress(), applied);
    if (membership.join() != null && raft.configuration().isEmpty()) {
      startJoining();
    }
  }

  /** TEST ONLY: holds the Raft loop for {@code millis} (see {@link RaftNode#stallForTesting}). */
  public CompletableFuture<Void> stallRaftLoopForTesting(long millis) {
    return raft.stallForTesting(millis);
  }

  private static AdminServer.FaultControl faultControl(PeerTransport peers, RaftNode raft) {
    LOG.warn("fault injection is ENABLED on this node (tests and chaos runs only)");
    return new AdminServer.FaultControl() {
      @Override
      public void dropFramesTo(java.util.Set<Long> ids) {
        peers.dropFramesTo(ids);
      }

      @Override
      public java.util.Set<Long> droppingFramesTo() {
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

  public static FlotillaNode start(NodeConfig config) throws IOException, InterruptedException {
    return new FlotillaNode(config, MembershipOptions.STATIC);
  }

  public static FlotillaNode start(NodeConfig config, MembershipOptions membership)
      throws IOException, InterruptedException {
    return new FlotillaNode(config, membership);
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
    return raft.isLeader();
  }

  public long appliedIndex() {
    return sm.appliedIndex();
  }

  /** The Raft driver's view of this node (role, term, commit, snapshot index, followers' match index). */
  public RaftNode.Status raftStatus() throws Exception {
    return raft.status().get(5, TimeUnit.SECONDS);
  }

  /** Hash of the replicated state; equal on every replica at the same applied index. */
  public byte[] digest() {
    return sm.digest();
  }

  // ------------------------------------------------------------------------------ peer frames

  /**
   * On the Raft loop: a snapshot goes out in chunks (unless one is still in flight to that peer:
   * Raft is not told, see docs/raft.md "Snapshots to a slow follower"), everything else as one
   * frame with its kind, so the transport can coalesce heartbeats without decoding them.
   */
  private void send(Message m) {
    if (m instanceof Message.InstallSnapshot install) {
      if (!peers.sendSnapshot(m.to(), () -> chunkFrames(install))) {
        LOG.debug("snapshot at {} to node {} not sent: one is in flight", install.snapshot().index(), m.to());
      }
    } else {
      peers.send(m.to(), m instanceof Message.Heartbeat ? PeerFrameKind.HEARTBEAT : PeerFrameKind.OTHER,
          MessageCodec.encode(m));
    }
  }

  private static java.util.List<byte[]> chunkFrames(Message.InstallSnapshot install) {
    var chunks = SnapshotChunker.split(install, SNAPSHOT_CHUNK_BYTES);
    LOG.info("sending snapshot at {} to node {}: {} bytes in {} chunks", install.snapshot().index(),
        install.to(), install.snapshot().sizeBytes(), chunks.size());
    java.util.List<byte[]> frames = new java.util.ArrayList<>(chunks.size());
    for (var c : chunks) {
      byte[] body = SnapshotChunker.encode(c);
      byte[] frame = new byte[body.length + 1];
      frame[0] = PeerInbox.CHUNK_FRAME;
      System.arraycopy(body, 0, frame, 1, body.length);
      frames.add(frame);
    }
    return frames;
  }

  private static InetSocketAddress bind(Endpoint e) {
    return new InetSocketAddress(e.host(), e.port());
  }

  // --------------------------------------------------------------------------------- requests

  private CompletableFuture<Response> handle(Request r) {
    long started = nodeMetrics.requestStarted();
    NodeMetrics.Op op = switch (r.getOpCase()) {
      case PUT -> NodeMetrics.Op.PUT;
      case GET -> NodeMetrics.Op.GET;
      case DELETE -> NodeMetrics.Op.DELETE;
      case CAS -> NodeMetrics.Op.CAS;
      case INCR -> NodeMetrics.Op.INCR;
      case SCAN -> NodeMetrics.Op.SCAN;
      case TXN -> NodeMetrics.Op.TXN;
      case STATUS -> NodeMetrics.Op.STATUS;
      default -> NodeMetrics.Op.OTHER;
    };
    return handleOp(r).whenComplete((resp, t) ->
        nodeMetrics.requestDone(op, started, t != null || resp == null || resp.hasError()));
  }

  private CompletableFuture<Response> handleOp(Request r) {
    long id = r.getRequestId();
    long timeout = r.getTimeoutMs() > 0 ? r.getTimeoutMs() : DEFAULT_TIMEOUT_MS;
    CompletableFuture<Response> out;
    if (id == 0) {
      // 0 marks answers the server cannot attribute to a request (BAD_FRAME, TOO_LARGE): an
      // answer to a request numbered 0 could not be told from those.
      out = CompletableFuture.completedFuture(KvTranslator.error(0, Error.Code.INVALID_ARGUMENT,
          "request_id 0 is reserved for errors not tied to a request; number requests from 1"));
    } else if (!r.hasStatus() && isRemoved()) {
      out = CompletableFuture.completedFuture(KvTranslator.error(id, Error.Code.NODE_UNAVAILABLE,
          "node " + config.id() + " was removed from the cluster; use another member"));
    } else if (KvTranslator.isWrite(r)) {
      out = write(r);
    } else if (r.hasGet() || r.hasScan()) {
      out = read(r);
    } else if (r.hasMemberList() || r.hasTransferLeader() || r.hasMemberChange()) {
      out = admin(r);
    } else if (r.hasStatus()) {
      out = CompletableFuture.completedFuture(Response.newBuilder().setRequestId(id)
          .setStatus(statusResult()).build());
    } else {
      out = CompletableFuture.completedFuture(KvTranslator.error(id, Error.Code.UNSUPPORTED,
          "unsupported op " + r.getOpCase()));
    }
    return out.orTimeout(timeout, TimeUnit.MILLISECONDS).exceptionally(t -> fromFailure(r, t));
  }

  private CompletableFuture<Response> write(Request r) {
    KvTranslator.Translated t = kv.toCommand(r);
    if (t instanceof KvTranslator.Refusal refusal) {
      return CompletableFuture.completedFuture(refusal.response());
    }
    byte[] command = ((KvTranslator.Proposal) t).command().toByteArray();
    return raft.propose(command).thenApply(index -> {
      Result result = applier.resultOf(index);
      if (result == null) {
        return KvTranslator.error(r.getRequestId(), Error.Code.INTERNAL,
            "the result of entry " + index + " was not kept");
      }
      return kv.toResponse(r.getRequestId(), result);
    });
  }

  // ---------------------------------------------------------------------------- membership

  /** Whether this node was removed from the cluster (it then refuses clients and never votes). */
  public boolean isRemoved() {
    Configuration cfg = raft.configuration();
    return removedByCluster || (!cfg.isEmpty() && !cfg.isMember(config.id()));
  }

  /** The membership in effect on this node. */
  public Configuration configuration() {
    return raft.configuration();
  }

  /** Loads the replicated member records: where every member (past and present) lives. */
  private void refreshMembers() {
    for (MemberInfo mi : sm.members().values()) {
      if (mi.getId() != config.id()) {
        learnAddress(mi.getId(), toMember(mi));
      }
    }
  }

  private void learnAddress(long id, NodeConfig.Member m) {
    if (id == config.id() || m == null) {
      return;
    }
    NodeConfig.Member old = directory.put(id, m);
    if (!m.equals(old) || old == null) {
      peers.setPeer(id, m.peer());
    }
  }

  private static NodeConfig.Member toMember(MemberInfo mi) {
    try {
      return new NodeConfig.Member(Endpoint.parse(mi.getPeerAddress()),
          mi.getClientAddress().isEmpty() ? null : Endpoint.parse(mi.getClientAddress()));
    } catch (IllegalArgumentException e) {
      LOG.error("member record of node {} has a bad address: {}", mi.getId(), e.getMessage());
      return null;
    }
  }

  private static MemberInfo memberInfo(long id, NodeConfig.Member m, boolean removed) {
    return MemberInfo.newBuilder().setId(id).setPeerAddress(m.peer().toString())
        .setClientAddress(m.client() == null ? "" : m.client().toString()).setRemoved(removed).build();
  }

  private CompletableFuture<Long> proposeMemberRecord(MemberInfo mi) {
    return raft.propose(io.flotilla.storage.proto.Command.newBuilder().setMember(mi).build().toByteArray());
  }

  /**
   * Every 200 ms on the leader: publish the member records the replicated table lacks (members
   * from static configuration), and promote a learner that has caught up.
   */
  private void leaderDuties() {
    try {
      if (!closed && !raft.isLeader() && !raft.isStopped()) {
        maybeAskWhetherRemoved();
      }
      if (closed || !raft.isLeader() || raft.isStopped()) {
        return;
      }
      Configuration cfg = raft.configuration();
      Map<Long, MemberInfo> records = sm.members();
      for (long m : cfg.members()) {
        NodeConfig.Member where = m == config.id() ? config.members().get(m) : directory.get(m);
        if (!records.containsKey(m) && where != null && publishing.add(m)) {
          proposeMemberRecord(memberInfo(m, where, false)).whenComplete((i, t) -> publishing.remove(m));
        }
      }
      if (membership.promoteGap() >= 0 && !cfg.isJoint() && !cfg.learners().isEmpty()
          && promoting.compareAndSet(false, true)) {
        raft.status().thenCompose(rs -> {
          for (long learner : new java.util.TreeSet<>(cfg.learners())) {
            long match = rs.matchIndex().getOrDefault(learner, 0L);
            if (match > 0 && match >= rs.lastIndex() - membership.promoteGap()) {
              LOG.info("node {}: learner {} caught up (match {} of {}): promoting it to voter", config.id(),
                  learner, match, rs.lastIndex());
              return raft.proposeConfChange(ConfChange.of(ConfChange.addVoter(learner)));
            }
          }
          return CompletableFuture.completedFuture(null);
        }).whenComplete((c, t) -> {
          promoting.set(false);
          if (t != null) {
            LOG.debug("node {}: promotion not done: {}", config.id(), t.toString());
          }
        });
      }
    } catch (RuntimeException e) {
      LOG.warn("node {}: leader duties failed: {}", config.id(), e.toString());
    }
  }

  /**
   * A node that was down or cut off while it was removed never receives the entry that removes
   * it (the leader replicates only to members), so it would go on believing it is a voter:
   * campaigning in vain and taking client requests it can never serve. Without a leader for a
   * while, it asks the cluster through the other members' client ports for the member list, whose
   * removed ids come from the replicated tombstones (ids are never reused, so this is never a
   * member's own id by mistake). Listed there, it stops its Raft node and refuses clients like a
   * node that applied its own removal.
   */
  private void maybeAskWhetherRemoved() {
    Configuration cfg = raft.configuration();
    if (removedByCluster || raft.leaderId() != 0 || cfg.isEmpty() || !cfg.isMember(config.id())) {
      leaderlessSinceNanos = 0;
      return;
    }
    long now = System.nanoTime();
    if (leaderlessSinceNanos == 0) {
      leaderlessSinceNanos = now;
      return;
    }
    if (now - leaderlessSinceNanos < REMOVAL_CHECK_AFTER_NANOS
        || (lastRemovalCheckNanos != 0 && now - lastRemovalCheckNanos < REMOVAL_CHECK_EVERY_NANOS)) {
      return;
    }
    String endpoints = otherClientEndpoints();
    if (endpoints.isEmpty() || !removalCheckInFlight.compareAndSet(false, true)) {
      return;
    }
    lastRemovalCheckNanos = now;
    var client = new io.flotilla.client.FlotillaClient(io.flotilla.client.ClientOptions.of(endpoints)
        .withRequestTimeout(java.time.Duration.ofSeconds(3)));
    client.members().whenComplete((list, t) -> {
      try {
        if (t == null && list.getRemovedIdsList().contains(config.id()) && !closed) {
          LOG.warn("node {} was removed from the cluster while it was away (leader {} lists it as removed):"
              + " stopping its Raft node; clients are refused", config.id(), list.getLeaderId());
          removedByCluster = true;
          raft.close();
        } else if (t != null) {
          LOG.debug("node {}: no leader, and asking the others whether it was removed failed: {}", config.id(),
              t.toString());
        }
      } finally {
        removalCheckInFlight.set(false);
        CompletableFuture.runAsync(client::close); // not from the client's own event loop
      }
    });
  }

  /** Client addresses of every other member this node knows of, HOST:PORT,... */
  private String otherClientEndpoints() {
    java.util.Set<String> out = new java.util.TreeSet<>();
    java.util.Set<Long> ids = new java.util.TreeSet<>(config.members().keySet());
    ids.addAll(directory.keySet());
    for (long id : ids) {
      NodeConfig.Member m = directory.getOrDefault(id, config.members().get(id));
      if (id != config.id() && m != null && m.client() != null) {
        out.add(m.client().toString());
      }
    }
    return String.join(",", out);
  }

  /** A joining node asks a member (any: the request is redirected to the leader) to add it. */
  private void startJoining() {
    NodeConfig.Member self = config.members().get(config.id());
    joinClient.set(new io.flotilla.client.FlotillaClient(io.flotilla.client.ClientOptions
        .of(membership.join().toString()).withRequestTimeout(java.time.Duration.ofSeconds(10))));
    var request = io.flotilla.client.proto.MemberChangeRequest.newBuilder()
        .setKind(io.flotilla.client.proto.MemberChangeRequest.Kind.ADD_LEARNER).setNodeId(config.id())
        .setPeerAddress(self.peer().toString())
        .setClientAddress(self.client() == null ? "" : self.client().toString()).build();
    attemptJoin(request, 1);
  }

  private void attemptJoin(io.flotilla.client.proto.MemberChangeRequest request, int attempt) {
    var client = joinClient.get();
    if (closed || client == null) {
      return;
    }
    client.changeMembers(request).whenComplete((members, t) -> {
      if (t == null) {
        for (var m : members.getMembersList()) {
          learnAddress(m.getId(), toMember(MemberInfo.newBuilder().setId(m.getId())
              .setPeerAddress(m.getPeerAddress()).setClientAddress(m.getClientAddress()).build()));
        }
        LOG.info("node {} joined through {} as a learner; members {}", config.id(), membership.join(),
            members.getMembersList().stream().map(m -> m.getId() + "(" + m.getRole() + ")").toList());
        stopJoining();
        return;
      }
      Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
      if (c instanceof io.flotilla.client.FlotillaException fe && fe.code() == Error.Code.INVALID_ARGUMENT) {
        LOG.error("node {}: the cluster at {} refused to add it: {}. Not retrying.", config.id(),
            membership.join(), fe.getMessage());
        stopJoining();
        return;
      }
      LOG.warn("node {}: join attempt {} through {} failed ({}); retrying", config.id(), attempt,
          membership.join(), c.toString());
      group.next().schedule(() -> attemptJoin(request, attempt + 1), Math.min(2000, 200L * attempt),
          TimeUnit.MILLISECONDS);
    });
  }

  /** Closes the join client off its own threads: a client cannot close from its event loop. */
  private void stopJoining() {
    var client = joinClient.getAndSet(null);
    if (client != null) {
      CompletableFuture.runAsync(client::close);
    }
  }

  private CompletableFuture<Response> admin(Request r) {
    long id = r.getRequestId();
    if (!raft.isLeader()) {
      return CompletableFuture.completedFuture(notLeader(id, raft.leaderId()));
    }
    if (r.hasMemberList()) {
      return memberListResponse(id, false);
    }
    if (r.hasTransferLeader()) {
      return transferLeader(id, r.getTransferLeader().getTarget());
    }
    return memberChange(id, r.getMemberChange());
  }

  private CompletableFuture<Response> memberListResponse(long requestId, boolean asChange) {
    return raft.status().thenApply(rs -> {
      var list = memberList(rs);
      Response.Builder b = Response.newBuilder().setRequestId(requestId);
      return (asChange ? b.setMemberChange(list) : b.setMemberList(list)).build();
    });
  }

  private CompletableFuture<Response> memberChange(long requestId,
      io.flotilla.client.proto.MemberChangeRequest c) {
    long node = c.getNodeId();
    if (node <= 0) {
      return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT,
          "node id must be positive"));
    }
    Configuration cfg = raft.configuration();
    MemberInfo known = sm.members().get(node);
    CompletableFuture<?> done;
    switch (c.getKind()) {
      case ADD_LEARNER -> {
        NodeConfig.Member where;
        try {
          where = new NodeConfig.Member(Endpoint.parse(c.getPeerAddress()),
              c.getClientAddress().isEmpty() ? null : Endpoint.parse(c.getClientAddress()));
        } catch (IllegalArgumentException e) {
          return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT,
              "ADD_LEARNER needs the node's peer address (and client address) as HOST:PORT: " + e.getMessage()));
        }
        MemberInfo record = memberInfo(node, where, false);
        if (known != null && known.getRemoved()) {
          return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT,
              "node id " + node + " was removed from this cluster; ids are never reused: start the new"
                  + " node with a new id and an empty data directory"));
        }
        if (cfg.isMember(node)) {
          if (record.equals(known)) {
            return memberListResponse(requestId, true); // a join retried: already done
          }
          return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT,
              "node " + node + " is already a member" + (known == null ? "" : " at " + known.getPeerAddress())));
        }
        // The address first, so that every node can reach the learner once it is in the configuration.
        done = proposeMemberRecord(record)
            .thenCompose(i -> raft.proposeConfChange(ConfChange.of(ConfChange.addLearner(node))));
      }
      case PROMOTE -> done = raft.proposeConfChange(ConfChange.of(ConfChange.addVoter(node)));
      case REMOVE -> {
        if (!cfg.isMember(node)) {
          return CompletableFuture.completedFuture(refusal(requestId, Error.Code.INVALID_ARGUMENT,
              io.flotilla.raft.ConfChangeError.UNKNOWN_NODE, "node " + node + " is not a member"));
        }
        // Tombstone first: once removed, the leader may be gone (it can remove itself).
        NodeConfig.Member where = node == config.id() ? config.members().get(node) : directory.get(node);
        CompletableFuture<Long> tomb = where == null ? CompletableFuture.completedFuture(0L)
            : proposeMemberRecord(memberInfo(node, where, true));
        done = tomb.thenCompose(i -> raft.proposeConfChange(ConfChange.of(ConfChange.removeNode(node))));
      }
      default -> {
        return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT,
            "unknown membership change " + c.getKind()));
      }
    }
    return done.thenCompose(x -> {
      if (raft.isLeader()) {
        return memberListResponse(requestId, true);
      }
      // This leader removed itself: answer with the configuration as it stands.
      return CompletableFuture.completedFuture(Response.newBuilder().setRequestId(requestId)
          .setMemberChange(memberList(null)).build());
    });
  }

  /** Members in the configuration, with addresses; match indexes when {@code rs} is a leader's. */
  private io.flotilla.client.proto.MemberListResult memberList(RaftNode.Status rs) {
    Configuration cfg = raft.configuration();
    long leader = raft.leaderId();
    var out = io.flotilla.client.proto.MemberListResult.newBuilder().setLeaderId(leader);
    for (long id : new java.util.TreeSet<>(cfg.members())) {
      var m = io.flotilla.client.proto.Member.newBuilder().setId(id)
          .setRole(cfg.isVoter(id) ? "voter" : "learner").setLeader(id == leader);
      if (rs != null) {
        m.setMatchIndex(rs.matchIndex().getOrDefault(id, 0L));
      }
      NodeConfig.Member where = id == config.id() ? config.members().get(id) : directory.get(id);
      if (where != null) {
        m.setPeerAddress(where.peer().toString());
        if (where.client() != null) {
          m.setClientAddress(where.client().toString());
        }
      }
      out.addMembers(m);
    }
    sm.members().values().stream().filter(MemberInfo::getRemoved).map(MemberInfo::getId).sorted()
        .forEach(out::addRemovedIds);
    return out.build();
  }

  /** Asks for the transfer, then answers once another node leads (or the request's deadline passes). */
  private CompletableFuture<Response> transferLeader(long requestId, long target) {
    return raft.status().thenCompose(rs -> {
      long to = target;
      if (to == 0) {
        to = rs.matchIndex().entrySet().stream()
            .filter(e -> e.getKey() != config.id() && rs.configuration().isVoter(e.getKey()))
            .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(0L);
      }
      if (to == config.id()) {
        return CompletableFuture.completedFuture(Response.newBuilder().setRequestId(requestId)
            .setTransferLeader(io.flotilla.client.proto.TransferLeaderResult.newBuilder()
                .setLeaderId(to)).build());
      }
      if (to == 0 || !rs.configuration().isVoter(to)) {
        return CompletableFuture.completedFuture(KvTranslator.error(requestId, Error.Code.INVALID_ARGUMENT,
            "no such voter to hand leadership to: " + target));
      }
      long chosen = to;
      CompletableFuture<Response> done = new CompletableFuture<>();
      raft.transferLeadership(chosen).whenComplete((ok, err) -> {
        if (err != null) {
          done.completeExceptionally(err);
          return;
        }
        // The transfer completes on another node; watch the leader id until it moves.
        pollLeader(done, requestId, 0);
      });
      return done;
    });
  }

  private void pollLeader(CompletableFuture<Response> done, long requestId, int polls) {
    if (done.isDone()) {
      return;
    }
    long leader = raft.leaderId();
    if (!raft.isLeader() && leader != 0) {
      done.complete(Response.newBuilder().setRequestId(requestId).setTransferLeader(
          io.flotilla.client.proto.TransferLeaderResult.newBuilder().setLeaderId(leader)).build());
      return;
    }
    if (polls > 1000) {
      done.complete(KvTranslator.error(requestId, Error.Code.UNAVAILABLE, "leadership did not move in time"));
      return;
    }
    group.next().schedule(() -> pollLeader(done, requestId, polls + 1), 10, TimeUnit.MILLISECONDS);
  }

  private CompletableFuture<Response> read(Request r) {
    var bad = kv.checkRead(r);
    if (bad.isPresent()) {
      return CompletableFuture.completedFuture(bad.get());
    }
    Consistency c = r.hasGet() ? r.getGet().getConsistency() : r.getScan().getConsistency();
    if (c == Consistency.SERIALIZABLE) {
      return CompletableFuture.completedFuture(serveRead(r));
    }
    if (c == Consistency.LINEARIZABLE && !raft.isLeader()) {
      return CompletableFuture.completedFuture(notLeader(r.getRequestId(), raft.leaderId()));
    }
    // LINEARIZABLE on the leader, FOLLOWER anywhere: ReadIndex (forwarded to the leader by a
    // follower), then serve locally once this node has applied that far.
    CompletableFuture<Response> served = raft.linearizableRead().thenApply(readIndex -> serveRead(r));
    if (c == Consistency.FOLLOWER) {
      // A follower that knows no leader cannot get a read index: that is a passing state (an
      // election), not a redirect, since a FOLLOWER read may be served by any node.
      return served.exceptionally(t -> {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof RaftException re && re.error() == io.flotilla.raft.RaftError.NOT_LEADER
            && re.leaderHint() == 0) {
          return KvTranslator.error(r.getRequestId(), Error.Code.UNAVAILABLE, "node " + config.id()
              + " knows no leader yet (an election may be in progress); retry, here or at another node");
        }
        throw cause instanceof CompletionException ce ? ce : new CompletionException(cause);
      });
    }
    return served;
  }

  private Response serveRead(Request r) {
    if (r.hasGet()) {
      return kv.getResponse(r.getRequestId(), sm.get(r.getGet().getKey().toByteArray()));
    }
    var scan = r.getScan();
    int limit = scan.getLimit() == 0 ? KvTranslator.SCAN_DEFAULT_LIMIT
        : Math.min(scan.getLimit(), KvTranslator.SCAN_MAX_LIMIT);
    return kv.scanResponse(r.getRequestId(), sm.scan(scan.getStart().toByteArray(),
        scan.getEnd().toByteArray(), limit, KvTranslator.SCAN_PAGE_BYTES));
  }

  private Response fromFailure(Request r, Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    long id = r.getRequestId();
    boolean write = KvTranslator.isWrite(r) || r.hasMemberChange();
    if (c instanceof ConfChangeException ce) {
      if (ce.error() == io.flotilla.raft.ConfChangeError.NOT_LEADER) {
        return notLeader(id, ce.leaderHint());
      }
      return refusal(id, ce.error().retryable() ? Error.Code.UNAVAILABLE : Error.Code.INVALID_ARGUMENT,
          ce.error(), ce.getMessage() + (ce.error().retryable() ? "; not applied, retry" : ""));
    }
    if (c instanceof RaftException re) {
      return switch (re.error()) {
        case NOT_LEADER -> notLeader(id, re.leaderHint());
        case TRANSFER_IN_PROGRESS, OVERLOADED -> KvTranslator.error(id, Error.Code.UNAVAILABLE,
            re.error() + ": not applied, retry");
        case LEADERSHIP_LOST -> write
            ? KvTranslator.error(id, Error.Code.TIMEOUT, "leadership changed before the write"
                + " was acknowledged: it may or may not be applied")
            : KvTranslator.error(id, Error.Code.UNAVAILABLE, "leadership changed; retry the read");
      };
    }
    if (raft.isStopped()) {
      // A storage failure or a broken invariant stopped the Raft driver: this node can no longer
      // serve; a write in flight may or may not have committed elsewhere.
      return KvTranslator.error(id, Error.Code.NODE_UNAVAILABLE, "node " + config.id()
          + " stopped after a fatal error" + (write ? "; the write may or may not be applied" : ""));
    }
    if (c instanceof TimeoutException) {
      // TIMEOUT for reads too: the deadline passed, and retrying is the client's call (a read
      // changes nothing, so for it "may or may not be applied" is moot).
      return KvTranslator.error(id, Error.Code.TIMEOUT, write
          ? "deadline passed: the write may or may not be applied"
          : "deadline passed before the read could be served (nothing was changed)");
    }
    LOG.error("request {} failed inside node {}", id, config.id(), c);
    return KvTranslator.error(id, Error.Code.INTERNAL, c.toString());
  }

  /** A refused membership change: its reason both in the message and machine-readable. */
  private static Response refusal(long requestId, Error.Code code, io.flotilla.raft.ConfChangeError reason,
      String message) {
    String text = message.startsWith(reason.name()) ? message : reason.name() + ": " + message;
    return Response.newBuilder().setRequestId(requestId).setError(Error.newBuilder().setCode(code)
        .setMessage(text).setReason(reason.name())).build();
  }

  private Response notLeader(long requestId, long leaderId) {
    Error.Builder e = Error.newBuilder().setCode(Error.Code.NOT_LEADER)
        .setMessage("node " + config.id() + " is not the leader");
    // A hint only when the leader's client address is known: members may be configured with
    // their peer address alone. Without one the client tries its other endpoints (protocol.md).
    NodeConfig.Member leader = directory.get(leaderId);
    if (leaderId != 0 && leaderId != config.id() && leader != null && leader.client() != null) {
      e.setLeaderHint(leader.client().toString());
    }
    return Response.newBuilder().setRequestId(requestId).setError(e).build();
  }

  // ----------------------------------------------------------------------------------- status

  private StatusResult statusResult() {
    long leader = raft.leaderId();
    StatusResult.Builder s = StatusResult.newBuilder().setNodeId(config.id())
        .setRole(raft.isStopped() ? "STOPPED" : raft.role().name()).setLeaderId(leader)
        .setAppliedIndex(sm.appliedIndex()).setTerm(storage.hardState().term());
    NodeConfig.Member m = directory.get(leader);
    if (m != null && m.client() != null) {
      s.setLeaderClientAddress(m.client().toString());
    }
    return s.build();
  }

  private Object status() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("nodeId", config.id());
    if (raft.isStopped()) {
      s.put("role", "STOPPED");
      s.put("removed", isRemoved());
      s.put("applied", sm.appliedIndex());
      return s;
    }
    RaftNode.Status rs;
    try {
      rs = raft.status().get(2, TimeUnit.SECONDS);
    } catch (Exception e) {
      s.put("role", "UNRESPONSIVE");
      return s;
    }
    s.put("role", rs.role().name());
    s.put("term", rs.term());
    s.put("leader", rs.leaderId());
    s.put("commit", rs.commitIndex());
    s.put("applied", sm.appliedIndex());
    s.put("lastLogIndex", rs.lastIndex());
    s.put("snapshotIndex", rs.snapshotIndex());
    s.put("snapshotsTaken", rs.snapshotsTaken());
    s.put("snapshotsInstalled", rs.snapshotsInstalled());
    s.put("recovery", Recovery.status(storage));
    // Hash of the state machine: equal on every replica at the same applied index. It reads the
    // whole state: fine for an operator or a chaos check, not for a tight polling loop.
    s.put("digest", java.util.HexFormat.of().formatHex(sm.digest()));
    Configuration cfg = rs.configuration();
    s.put("removed", !cfg.isEmpty() && !cfg.isMember(config.id()));
    s.put("joint", cfg.isJoint());
    java.util.List<Map<String, Object>> members = new java.util.ArrayList<>();
    for (long id : new java.util.TreeSet<>(cfg.members())) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", id);
      NodeConfig.Member where = id == config.id() ? config.members().get(id) : directory.get(id);
      if (where != null) {
        m.put("peer", where.peer().toString());
        if (where.client() != null) {
          m.put("client", where.client().toString());
        }
      }
      m.put("role", cfg.isVoter(id) ? "voter" : "learner");
      if (rs.role() == Role.LEADER) {
        m.put("matchIndex", rs.matchIndex().getOrDefault(id, 0L));
      }
      members.add(m);
    }
    s.put("members", members);
    return s;
  }

  // --------------------------------------------------------------------------------- shutdown

  /**
   * Leaves the cluster's service to the others before stopping: a leader hands leadership to its
   * most caught-up follower and waits (up to {@code wait}) until it is gone, so clients see one
   * short redirect instead of an election timeout. Then closes everything.
   */
  public String shutdownGracefully(java.time.Duration wait) throws IOException {
    String outcome = "not the leader";
    try {
      if (raft.isLeader()) {
        RaftNode.Status rs = raft.status().get(1, TimeUnit.SECONDS);
        long target = rs.matchIndex().entrySet().stream()
            .filter(e -> e.getKey() != config.id() && rs.configuration().isVoter(e.getKey()))
            .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(0L);
        if (target != 0) {
          LOG.info("node {} is leader: handing leadership to node {} before stopping", config.id(), target);
          raft.transferLeadership(target).get(1, TimeUnit.SECONDS);
          long deadline = System.nanoTime() + wait.toNanos();
          // Awaiting a remote state change with no event to wait on: poll the volatile role.
          while (raft.isLeader() && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
          }
          outcome = raft.isLeader() ? "leadership not handed over in time"
              : "leadership handed to node " + target;
          LOG.info("node {}: {}", config.id(), outcome);
        }
      }
    } catch (Exception e) {
      outcome = "leadership transfer failed: " + e;
      LOG.warn("node {}: leadership transfer before stopping failed: {}", config.id(), e.toString());
    }
    close();
    return outcome;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    var duties = leaderDuties;
    if (duties != null) {
      duties.cancel(false);
    }
    var jc = joinClient.getAndSet(null);
    if (jc != null) {
      jc.close();
    }
    // Every request already accepted gets its answer before its connection closes; the Raft
    // node still runs meanwhile, so writes in flight can still commit (or time out).
    clientPort.drainAndClose(java.time.Duration.ofMillis(DEFAULT_TIMEOUT_MS));
    admin.close();
    raft.close();
    applier.close();
    peers.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    controlGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    storage.close();
    sm.close();
  }
}
