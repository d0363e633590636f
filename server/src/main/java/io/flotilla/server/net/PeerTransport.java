package io.flotilla.server.net;

import io.flotilla.client.Endpoint;
import io.flotilla.client.wire.Frames;
import io.flotilla.client.wire.InputBudget;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The peer port: opaque frames (encoded Raft messages) between nodes, one outgoing connection per
 * peer ({@link PeerLink}). Raft tolerates loss, so the transport never blocks and never retries a
 * frame: while a peer is unreachable or not reading, frames beyond bounded queues are dropped and
 * counted, and the connection is retried with exponential backoff and jitter. Peers are addressed
 * by host name, resolved at every connect, so a peer that moves to a new IP under the same name is
 * found again.
 *
 * <p>The sender says what a frame is ({@link PeerFrameKind}, or {@link #sendSnapshot}); the
 * transport never decodes one. A zero-length frame is the transport's own: a ping on an outgoing
 * connection, answered (with another one) by the accepting side whenever it reads, so each link
 * knows whether its path still works (see {@link PeerLink}). Zero-length frames are never
 * delivered.
 *
 * <p>Accepted connections are bounded like the client port's: a budget for incomplete input
 * shared by them all (separate from the client port's, so client abuse cannot use it up), a frame
 * timeout, a connection limit, and an idle timeout (a live peer pings).
 */
public final class PeerTransport implements AutoCloseable {
  /**
   * Tuning of the peer links.
   *
   * @param maxFrameBytes     largest frame accepted
   * @param maxQueuedFrames   frames (other than heartbeats and snapshots) queued per peer
   * @param maxQueuedBytes    ... and their bytes
   * @param backoffMinMillis  first pause before redialling
   * @param backoffMaxMillis  longest pause (doubling, with jitter)
   * @param connectTimeoutMillis one connect attempt
   * @param pingIntervalMillis   how often a link pings its connection
   * @param deadAfterMillis      a connection with nothing heard back this long is closed and
   *                             redialled; an accepted one that received nothing for three times
   *                             this is closed
   * @param inputBudgetBytes     incomplete input all accepted connections may hold together
   * @param frameTimeoutMillis   an incomplete frame older than this closes its connection
   * @param maxConnections       accepted connections; more are closed at once
   * @param writeLowWaterBytes   unsent bytes in a link's socket below which it is written again
   * @param writeHighWaterBytes  unsent bytes above which a link holds frames in its queues
   */
  public record Options(int maxFrameBytes, int maxQueuedFrames, long maxQueuedBytes,
      long backoffMinMillis, long backoffMaxMillis, int connectTimeoutMillis,
      long pingIntervalMillis, long deadAfterMillis, long inputBudgetBytes,
      long frameTimeoutMillis, int maxConnections, int writeLowWaterBytes,
      int writeHighWaterBytes) {
    public static final Options DEFAULT = forTick(100);

    public Options {
      if (maxFrameBytes <= 0 || maxQueuedFrames <= 0 || maxQueuedBytes <= 0
          || backoffMinMillis <= 0 || backoffMaxMillis < backoffMinMillis
          || connectTimeoutMillis <= 0 || pingIntervalMillis <= 0
          || deadAfterMillis <= pingIntervalMillis || inputBudgetBytes < maxFrameBytes
          || frameTimeoutMillis <= 0 || maxConnections <= 0 || writeLowWaterBytes <= 0
          || writeHighWaterBytes < writeLowWaterBytes) {
        throw new IllegalArgumentException("bad peer transport options: " + this);
      }
    }

    /** The older shape (tests): the rest as for a 100 ms tick. */
    public Options(int maxFrameBytes, int maxQueuedFrames, long backoffMinMillis,
        long backoffMaxMillis, int connectTimeoutMillis) {
      this(maxFrameBytes, maxQueuedFrames, 64L << 20, backoffMinMillis, backoffMaxMillis,
          connectTimeoutMillis, 100, 1000, Math.max(256L << 20, maxFrameBytes), 30_000, 1024,
          1 << 20, 4 << 20);
    }

    /**
     * Timings from the Raft tick (election timeout 10-20 ticks): ping every tick, a link silent
     * for 10 ticks is dead, and a connect attempt and the longest backoff are 3 ticks each (at
     * least 200 and 100 ms), so after a partition heals each link is back within about 6 ticks,
     * well inside one election timeout.
     */
    public static Options forTick(long tickMillis) {
      return new Options(64 << 20, 4096, 64L << 20, Math.min(50, tickMillis),
          Math.max(100, 3 * tickMillis), (int) Math.max(200, 3 * tickMillis), tickMillis,
          10 * tickMillis, 256L << 20, 30_000, 1024, 1 << 20, 4 << 20);
    }
  }

  /** Link transitions and snapshot aborts, for metrics and for Raft; called on Netty threads. */
  public interface Listener {
    Listener NONE = new Listener() {};

    /** The first answer on a link since the transport started. */
    default void linkUp(long peer) {}

    /** A link that was up lost its connection (closed by either side, or silent too long). */
    default void linkLost(long peer) {}

    /** A link that was lost answers again. */
    default void linkRestored(long peer) {}

    /**
     * A snapshot already partly written to {@code peer} cannot arrive whole: its connection
     * closed. The receiver drops the partial one; the leader should probe and resend.
     */
    default void snapshotAborted(long peer) {}
  }

  /**
   * Where received frames go, on a Netty thread (hand off, never block). {@code certifiedNode}: the
   * node id the connection's TLS certificate names, or 0 in plain text; a receiver that finds a
   * frame claiming another sender throws {@link PeerIdentityMismatch}, and the connection is refused.
   */
  public interface Inbound {
    void accept(byte[] frame, SocketAddress remote, long certifiedNode);
  }

  private final Options options;
  private final EventLoopGroup group;
  final Inbound inbound;
  /** TLS of accepted connections ({@link PortTls#NONE}: plain text). */
  private final io.flotilla.server.tls.PortTls inboundTls;
  /** TLS of outgoing links (null: plain text); the peer's certificate must name the id dialled. */
  private final io.flotilla.client.tls.ClientTls outboundTls;
  final AtomicLong identityRefused = new AtomicLong();
  private final Map<Long, PeerLink> links = new ConcurrentHashMap<>();
  private final Bootstrap bootstrap;
  private final InputBudget budget;
  private volatile Channel serverChannel;
  volatile boolean closed;
  final AtomicLong framesDropped = new AtomicLong();
  final AtomicLong heartbeatsCoalesced = new AtomicLong();
  final AtomicLong snapshotsRefused = new AtomicLong();
  final AtomicLong snapshotsAborted = new AtomicLong();
  final AtomicInteger acceptedCount = new AtomicInteger();
  /**
   * Fault injection (tests and chaos runs only, switched on by the node's admin port when the
   * node was started with fault injection enabled): frames to these peers are dropped, as a
   * network partition would. Empty in production, so the check costs one volatile read.
   */
  private volatile Set<Long> dropTo = Set.of();
  private final AtomicLong framesDroppedByFault = new AtomicLong();
  /** Byte counts per peer, for metrics; a no-op until {@link #setTraffic} is called. */
  private volatile Traffic traffic = Traffic.NONE;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  /** Accepted (incoming) connections, closed with the transport so peers notice at once. */
  final ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private PeerTransport(Options options, EventLoopGroup group, Inbound inbound,
      io.flotilla.server.tls.PortTls inboundTls, io.flotilla.client.tls.ClientTls outboundTls) {
    this.options = options;
    this.group = group;
    this.inbound = inbound;
    this.inboundTls = inboundTls;
    this.outboundTls = outboundTls;
    this.budget = new InputBudget(options.inputBudgetBytes());
    this.bootstrap = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        // Peer names are looked up at every connect; a slow lookup (a stopped container's name)
        // must not hold the loop that carries every other peer's frames.
        .resolver(io.flotilla.client.wire.OffLoopResolver.INSTANCE)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, options.connectTimeoutMillis())
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(options.writeLowWaterBytes(), options.writeHighWaterBytes()));
  }

  /**
   * Listens on {@code bind} (port 0: any) and delivers every frame received from any peer to
   * {@code inbound} with the connection's remote address (for the receiver's logs), on a Netty
   * thread: the consumer must hand it off, not block.
   */
  public static PeerTransport start(InetSocketAddress bind, EventLoopGroup group,
      BiConsumer<byte[], SocketAddress> inbound, Options options) throws InterruptedException {
    return start(bind, group, (frame, remote, certified) -> inbound.accept(frame, remote), options,
        io.flotilla.server.tls.PortTls.NONE, null);
  }

  /**
   * As above, over mutual TLS when {@code inboundTls} is on: accepted connections through it, and
   * links dialled with {@code outboundTls}, whose peers must present the certificate of the node
   * id dialled.
   */
  public static PeerTransport start(InetSocketAddress bind, EventLoopGroup group, Inbound inbound,
      Options options, io.flotilla.server.tls.PortTls inboundTls, io.flotilla.client.tls.ClientTls outboundTls)
      throws InterruptedException {
    PeerTransport t = new PeerTransport(options, group, inbound, inboundTls, outboundTls);
    t.serverChannel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            inboundTls.install(ch);
            ch.pipeline()
                .addLast(new PeerAccepted.Ponger(options))
                .addLast(Frames.decoder(options.maxFrameBytes(), t.budget,
                    options.frameTimeoutMillis()))
                .addLast(new IdleStateHandler(3 * options.deadAfterMillis(), 0, 0,
                    TimeUnit.MILLISECONDS))
                .addLast(new PeerAccepted.Receiver(t));
          }
        })
        .bind(bind).sync().channel();
    return t;
  }

  Options options() {
    return options;
  }

  Bootstrap bootstrap() {
    return bootstrap;
  }

  Traffic traffic() {
    return traffic;
  }

  io.flotilla.client.tls.ClientTls outboundTls() {
    return outboundTls;
  }

  /**
   * Connections refused because their certificate named another node than the one they spoke for
   * (a frame's sender on an accepted connection, or the node id a link dialled).
   */
  public long identityRefused() {
    return identityRefused.get();
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** Adds or moves a peer; an existing link to another address is dropped and reconnected. */
  public void setPeer(long nodeId, Endpoint endpoint) {
    PeerLink old = links.put(nodeId, new PeerLink(nodeId, endpoint, group.next(), this));
    if (old != null) {
      old.shutdown();
    }
  }

  public void removePeer(long nodeId) {
    PeerLink old = links.remove(nodeId);
    if (old != null) {
      old.shutdown();
    }
  }

  /** The peers with a link. */
  public Set<Long> peers() {
    return Set.copyOf(links.keySet());
  }

  /** Queues a frame for {@code nodeId}; never blocks. Unknown peers and overflow drop the frame. */
  public void send(long nodeId, PeerFrameKind kind, byte[] frame) {
    send(nodeId, kind, 0, frame);
  }

  /**
   * As {@link #send(long, PeerFrameKind, byte[])}; {@code group} names whose heartbeat a
   * HEARTBEAT frame is, so that one group's heartbeat never replaces another's.
   */
  public void send(long nodeId, PeerFrameKind kind, long group, byte[] frame) {
    if (frame.length == 0) {
      throw new IllegalArgumentException("empty frames are the transport's pings");
    }
    if (dropTo.contains(nodeId)) {
      framesDroppedByFault.incrementAndGet();
      return;
    }
    PeerLink link = links.get(nodeId);
    if (link == null || closed) {
      framesDropped.incrementAndGet();
      return;
    }
    link.enqueue(kind, group, frame);
  }

  /** {@link #send(long, PeerFrameKind, byte[])} of an {@link PeerFrameKind#OTHER} frame. */
  public void send(long nodeId, byte[] frame) {
    send(nodeId, PeerFrameKind.OTHER, frame);
  }

  /**
   * Queues one snapshot's chunk frames for {@code nodeId}, unless a snapshot is still in flight
   * to it (from this call until its last chunk is written to the socket): then the chunks are not
   * even made ({@code chunks} is not called) and the answer is false. A refusal is not a failure:
   * the one in flight is still on its way, and its answer moves the leader on (docs/raft.md,
   * "Snapshots to a slow follower"). Called from one thread (the Raft loop).
   */
  public boolean sendSnapshot(long nodeId, Supplier<List<byte[]>> chunks) {
    PeerLink link = links.get(nodeId);
    if (link != null && !closed && link.snapshotInFlight()) {
      snapshotsRefused.incrementAndGet();
      return false;
    }
    List<byte[]> frames = chunks.get();
    if (frames.isEmpty() || frames.stream().anyMatch(f -> f.length == 0)) {
      throw new IllegalArgumentException("a snapshot is at least one non-empty chunk");
    }
    if (dropTo.contains(nodeId)) {
      framesDroppedByFault.addAndGet(frames.size());
      return true; // dropped as a partition would: the leader's snapshot timeout covers it
    }
    if (link == null || closed) {
      framesDropped.addAndGet(frames.size());
      return true; // nobody to refuse it: lost, like any frame to an unknown peer
    }
    if (!link.offerSnapshot(frames)) {
      snapshotsRefused.incrementAndGet();
      return false;
    }
    return true;
  }

  /** Whether a snapshot to {@code nodeId} is in flight (a new one would be refused). */
  public boolean snapshotInFlight(long nodeId) {
    PeerLink link = links.get(nodeId);
    return link != null && link.snapshotInFlight();
  }

  /**
   * Bytes sent per peer (frame plus its 4-byte length prefix), called on Netty threads: must only
   * bump a pre-registered counter. Received bytes are not counted here: the transport treats
   * frames as opaque, so only the node, which decodes them, knows who sent one.
   */
  public interface Traffic {
    Traffic NONE = (peerId, bytes) -> { };

    void sent(long peerId, int bytes);

    /** One flush of the connection to {@code peerId} carried {@code frames} frames (Raft messages, chunks). */
    default void flushed(long peerId, int frames) {}
  }

  public void setTraffic(Traffic traffic) {
    this.traffic = traffic;
  }

  /** Adds a listener for link transitions and snapshot aborts. */
  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  void linkUp(long peer) {
    listeners.forEach(l -> l.linkUp(peer));
  }

  void linkLost(long peer) {
    listeners.forEach(l -> l.linkLost(peer));
  }

  void linkRestored(long peer) {
    listeners.forEach(l -> l.linkRestored(peer));
  }

  void snapshotAborted(long peer) {
    listeners.forEach(l -> l.snapshotAborted(peer));
  }

  /** Frames dropped so far (unknown peer, a queue full, transport closed). */
  public long framesDropped() {
    return framesDropped.get();
  }

  /** Heartbeats replaced by a newer one before they were sent. */
  public long heartbeatsCoalesced() {
    return heartbeatsCoalesced.get();
  }

  /** Snapshots not queued because another was in flight to the same peer. */
  public long snapshotsRefused() {
    return snapshotsRefused.get();
  }

  /** Snapshots abandoned part-way because their connection closed. */
  public long snapshotsAborted() {
    return snapshotsAborted.get();
  }

  /** Bytes waiting for {@code nodeId}: in the link's queues and in its socket's buffer. */
  public long queuedBytes(long nodeId) {
    PeerLink link = links.get(nodeId);
    return link == null ? 0 : link.queuedBytes();
  }

  /** Bytes of incomplete frames buffered by accepted connections right now. */
  public long bufferedInputBytes() {
    return budget.used();
  }

  /**
   * Drops every frame this node sends to {@code peers} from now on (an empty set heals). One
   * direction only: a two-way partition sets the drop on both sides. Fault injection only.
   */
  public void dropFramesTo(Set<Long> peers) {
    dropTo = Set.copyOf(peers);
  }

  /** The peers whose frames are being dropped by {@link #dropFramesTo}. */
  public Set<Long> droppingFramesTo() {
    return dropTo;
  }

  /** Frames dropped by {@link #dropFramesTo} so far. */
  public long framesDroppedByFault() {
    return framesDroppedByFault.get();
  }

  /** True when the link to {@code nodeId} has a connection on which the peer answered. */
  public boolean connected(long nodeId) {
    PeerLink l = links.get(nodeId);
    return l != null && l.connected();
  }

  @Override
  public void close() {
    closed = true;
    links.values().forEach(PeerLink::shutdown);
    links.clear();
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    accepted.close().syncUninterruptibly();
  }
}
