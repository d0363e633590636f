package io.flotilla.server.net;

import io.flotilla.client.Endpoint;
import io.flotilla.client.wire.Frames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outgoing side to one peer: one connection, bounded queues drained by the connection's event
 * loop only while the socket takes data, a liveness check, and reconnection.
 *
 * <p>Queues (issue 14, item 5): the newest unsent heartbeat (older ones are replaced), other
 * frames in order up to a count and a byte limit (past them a frame is dropped and counted: Raft
 * retransmits), and at most one snapshot, whose chunks leave one at a time. A peer that stops
 * reading (frozen but connected) therefore costs at most the socket's high-water mark, one
 * heartbeat, the bounded queue and one snapshot.
 *
 * <p>Liveness (item 7): frames flow one way on this connection, so the link pings it (an empty
 * frame every ping interval) and the peer's transport answers with an empty frame whenever it
 * reads from it. Nothing heard back for {@code deadAfter} (about an election timeout) means the
 * path is gone even if TCP has not noticed (packets silently dropped, a frozen process): the
 * connection is closed and redialled. Connect attempts are short and backoff is capped, so a
 * healed network is found within a few hundred milliseconds instead of at TCP's next
 * retransmission. The link counts as up once something was heard on a connection and as lost
 * when that connection closes; each transition is logged once and reported to the listener.
 */
final class PeerLink {
  private static final Logger LOG = LoggerFactory.getLogger(PeerLink.class);

  /** One snapshot's chunks; the deque is touched only on the loop once handed over. */
  private static final class SnapshotSend {
    final ArrayDeque<byte[]> chunks;
    boolean started;

    SnapshotSend(List<byte[]> chunks) {
      this.chunks = new ArrayDeque<>(chunks);
    }
  }

  final long nodeId;
  final Endpoint endpoint;
  private final EventLoop loop;
  private final PeerTransport transport;
  private final PeerTransport.Options options;
  /** The newest unsent heartbeat of each group (PeerFrameKind.HEARTBEAT), by group. */
  private final ConcurrentHashMap<Long, byte[]> heartbeats = new ConcurrentHashMap<>();
  private final AtomicLong heartbeatBytes = new AtomicLong();
  private final Queue<byte[]> others = new ConcurrentLinkedQueue<>();
  private final AtomicInteger othersCount = new AtomicInteger();
  private final AtomicLong othersBytes = new AtomicLong();
  /** The snapshot in flight: from its offer until its last chunk is in the socket, or aborted. */
  private final AtomicReference<SnapshotSend> snapshot = new AtomicReference<>();
  private final AtomicLong snapshotBytes = new AtomicLong();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  // Touched only on loop:
  private Channel channel;
  private ChannelFuture connecting;
  private long nextBackoff;
  private boolean reconnectScheduled;
  private boolean up;
  private long lastHeardNanos;
  private long downSinceNanos;
  private String closeReason;
  /** The last TLS handshake failure logged: a peer refusing us is logged once, not at every redial. */
  private String lastTlsFailure;
  private ScheduledFuture<?> watch;
  private volatile boolean shut;
  private volatile boolean connected;

  PeerLink(long nodeId, Endpoint endpoint, EventLoop loop, PeerTransport transport) {
    this.nodeId = nodeId;
    this.endpoint = endpoint;
    this.loop = loop;
    this.transport = transport;
    this.options = transport.options();
    this.nextBackoff = options.backoffMinMillis();
  }

  /** True while a connection is open and the peer answered on it. */
  boolean connected() {
    return connected;
  }

  /** Bytes waiting here for the socket (heartbeat, queue, snapshot chunks not yet written). */
  long queuedBytes() {
    Channel ch = channel; // read from another thread: a gauge's estimate
    var out = ch == null ? null : ch.unsafe().outboundBuffer();
    long inSocket = out == null ? 0 : out.totalPendingWriteBytes();
    return heartbeatBytes.get() + othersBytes.get() + snapshotBytes.get() + inSocket;
  }

  boolean snapshotInFlight() {
    return snapshot.get() != null;
  }

  /** {@code group}: whose heartbeat a HEARTBEAT frame is (another group's never replaces it). */
  void enqueue(PeerFrameKind kind, long group, byte[] frame) {
    if (kind == PeerFrameKind.HEARTBEAT) {
      byte[] old = heartbeats.put(group, frame);
      heartbeatBytes.addAndGet(frame.length - (old == null ? 0 : old.length));
      if (old != null) {
        transport.heartbeatsCoalesced.incrementAndGet();
      }
    } else {
      if (othersCount.incrementAndGet() > options.maxQueuedFrames()
          || othersBytes.addAndGet(frame.length) > options.maxQueuedBytes()) {
        othersCount.decrementAndGet();
        othersBytes.addAndGet(-frame.length);
        transport.framesDropped.incrementAndGet();
        return;
      }
      others.add(frame);
    }
    scheduleDrain();
  }

  /** Any group's unsent heartbeat, or null. */
  private byte[] takeHeartbeat() {
    for (Long group : heartbeats.keySet()) {
      byte[] f = heartbeats.remove(group);
      if (f != null) {
        heartbeatBytes.addAndGet(-f.length);
        return f;
      }
    }
    return null;
  }

  /** False when a snapshot is already in flight to this peer (the new one is not queued). */
  boolean offerSnapshot(List<byte[]> chunks) {
    if (!snapshot.compareAndSet(null, new SnapshotSend(chunks))) {
      return false;
    }
    snapshotBytes.addAndGet(chunks.stream().mapToLong(c -> c.length).sum());
    scheduleDrain();
    return true;
  }

  private void scheduleDrain() {
    if (drainScheduled.compareAndSet(false, true)) {
      loop.execute(this::drain);
    }
  }

  /** On loop: writes while the socket takes data (below its high-water mark), flushes once. */
  private void drain() {
    drainScheduled.set(false);
    if (shut) {
      discardQueues();
      return;
    }
    if (channel == null || !channel.isActive()) {
      connect();
      return; // the queues wait (bounded) until the connection is up
    }
    int frames = 0;
    while (channel.isWritable()) {
      byte[] f = takeHeartbeat();
      if (f == null && (f = others.poll()) != null) {
        othersCount.decrementAndGet();
        othersBytes.addAndGet(-f.length);
      }
      if (f != null) {
        write(f);
        frames++;
        continue;
      }
      SnapshotSend s = snapshot.get();
      if (s == null || s.chunks.isEmpty()) {
        break;
      }
      // One chunk per pass: heartbeats and entries queued meanwhile go between chunks.
      s.started = true;
      byte[] chunk = s.chunks.poll();
      snapshotBytes.addAndGet(-chunk.length);
      ChannelFuture written = write(chunk);
      frames++;
      if (s.chunks.isEmpty()) {
        written.addListener(done -> {
          if (done.isSuccess()) {
            snapshot.compareAndSet(s, null); // in the socket: loss is Raft's to notice now
          } else {
            abortSnapshot("its last chunk could not be written");
          }
        });
      }
    }
    if (frames > 0) {
      channel.flush();
      transport.traffic().flushed(nodeId, frames);
    }
  }

  private ChannelFuture write(byte[] frame) {
    transport.traffic().sent(nodeId, frame.length + Frames.LENGTH_BYTES);
    return channel.write(Unpooled.wrappedBuffer(frame));
  }

  /**
   * On loop: the snapshot under way cannot arrive whole (its connection closed): drop the rest
   * and tell Raft, which probes the peer and sends a snapshot again if it still needs one. A
   * snapshot not started yet stays queued for the next connection.
   */
  private void abortSnapshot(String why) {
    SnapshotSend s = snapshot.get();
    if (s != null && s.started && snapshot.compareAndSet(s, null)) {
      snapshotBytes.set(0);
      LOG.info("snapshot to peer {} abandoned: {}", nodeId, why);
      transport.snapshotsAborted.incrementAndGet();
      transport.snapshotAborted(nodeId);
    }
  }

  /** On loop: starts a connection unless one is under way or a retry is scheduled. */
  private void connect() {
    if (connecting != null || reconnectScheduled || shut) {
      return;
    }
    // Unresolved: the name is looked up now, on every attempt.
    connecting = transport.bootstrap().clone(loop).handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        var tls = transport.outboundTls();
        if (tls != null) {
          // No host and port for the engine: the JDK then never resumes a cached session, so each
          // connection is a full handshake whose certificate both ends read (the check below, and
          // the peer port's check of every frame's sender). A link connects rarely.
          ch.pipeline().addLast("tls", tls.context().newHandler(ch.alloc()));
        }
        ch.pipeline().addLast(Frames.prepender()).addLast(new LinkHandler());
      }
    }).connect(
        InetSocketAddress.createUnresolved(endpoint.host(), endpoint.port()));
    connecting.addListener(done -> {
      connecting = null;
      Channel ch = ((ChannelFuture) done).channel();
      if (done.isSuccess() && ch.localAddress() != null
          && ch.localAddress().equals(ch.remoteAddress())) {
        // TCP simultaneous open with itself: the peer is down and the kernel chose its port as
        // our ephemeral source port. Kept, this link would swallow every frame and hold the
        // port, so the peer could never listen on it again (found by the chaos run).
        LOG.info("connection to peer {} at {} reached itself; closing it", nodeId, endpoint);
        ch.close();
        scheduleReconnect();
        return;
      }
      if (!done.isSuccess()) {
        LOG.debug("cannot connect to peer {} at {}: {}", nodeId, endpoint, done.cause().toString());
        scheduleReconnect();
        return;
      }
      if (shut) {
        ch.close();
        return;
      }
      var ssl = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
      if (ssl == null) {
        established(ch);
        return;
      }
      // Nothing is written until the peer proved it is the node dialled: a frame of ours never
      // reaches a node holding another id's certificate at this address.
      connecting = ch.newSucceededFuture(); // still connecting: no second attempt meanwhile
      // Not shorter: a cold JVM's first handshakes took over 3 s on a small loaded machine, and
      // a redial would only start over. A peer that hangs in a handshake is frozen anyway.
      ssl.setHandshakeTimeoutMillis(Math.max(10_000, options.deadAfterMillis()));
      ssl.handshakeFuture().addListener(hs -> {
        connecting = null;
        if (!hs.isSuccess()) {
          String why = io.flotilla.server.tls.PortTls.reasonOf(hs.cause());
          if (!why.equals(lastTlsFailure)) {
            lastTlsFailure = why;
            LOG.warn("TLS handshake with peer {} at {} failed: {}", nodeId, endpoint, why);
          }
          ch.close();
          scheduleReconnect();
          return;
        }
        long certified = PeerCertificates.certifiedNode(ch);
        if (certified == -2) {
          LOG.warn("peer link to {} at {}: cannot read its certificate: {}; redialling", nodeId, endpoint,
              PeerCertificates.describe(ch));
          ch.close();
          scheduleReconnect();
          return;
        }
        if (certified != nodeId) {
          transport.identityRefused.incrementAndGet();
          LOG.error("refusing peer link to {} at {}: its certificate is that of {}", nodeId, endpoint,
              PeerCertificates.describe(ch));
          ch.close();
          scheduleReconnect();
          return;
        }
        lastTlsFailure = null;
        if (shut) {
          ch.close();
          return;
        }
        established(ch);
      });
    });
  }

  /** On loop: a connection (over TLS: with the peer's identity checked) carries this link from now on. */
  private void established(Channel ch) {
    channel = ch;
    closeReason = null;
    lastHeardNanos = System.nanoTime(); // a full deadAfter for the first answer
    long every = options.pingIntervalMillis();
    watch = loop.scheduleAtFixedRate(this::checkLiveness, every, every, TimeUnit.MILLISECONDS);
    ch.closeFuture().addListener(c -> onClosed(ch));
    ch.writeAndFlush(Unpooled.EMPTY_BUFFER, ch.voidPromise()); // a ping: ask for a first answer
    drain();
  }

  /** On loop, every ping interval while connected: closes a silent connection, else pings. */
  private void checkLiveness() {
    Channel ch = channel;
    if (ch == null || !ch.isActive()) {
      return;
    }
    long silentNanos = System.nanoTime() - lastHeardNanos;
    if (silentNanos > TimeUnit.MILLISECONDS.toNanos(options.deadAfterMillis())) {
      closeReason = "nothing heard back for " + TimeUnit.NANOSECONDS.toMillis(silentNanos) + " ms";
      ch.close();
      return;
    }
    // An empty frame, past the high-water mark if need be: it must go even when entries cannot.
    ch.writeAndFlush(Unpooled.EMPTY_BUFFER, ch.voidPromise());
  }

  /** On loop: the peer's transport answered on this connection. */
  private void heard(Channel ch) {
    if (ch != channel) {
      return;
    }
    lastHeardNanos = System.nanoTime();
    if (!up) {
      up = true;
      connected = true;
      nextBackoff = options.backoffMinMillis(); // proven: a later loss retries fast again
      if (downSinceNanos != 0) {
        LOG.info("peer link to {} at {} restored after {} ms", nodeId, endpoint,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downSinceNanos));
        transport.linkRestored(nodeId);
      } else {
        LOG.info("peer link to {} at {} up", nodeId, endpoint);
        transport.linkUp(nodeId);
      }
    }
  }

  private void onClosed(Channel ch) {
    if (ch != channel) {
      return;
    }
    channel = null;
    if (watch != null) {
      watch.cancel(false);
      watch = null;
    }
    abortSnapshot("the connection closed");
    if (up) {
      up = false;
      connected = false;
      downSinceNanos = System.nanoTime();
      if (!shut) {
        LOG.warn("peer link to {} at {} lost: {}", nodeId, endpoint,
            closeReason != null ? closeReason : "connection closed");
        transport.linkLost(nodeId);
      }
    }
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    if (shut || reconnectScheduled) {
      return;
    }
    reconnectScheduled = true;
    long pause = nextBackoff / 2 + ThreadLocalRandom.current().nextLong(nextBackoff / 2 + 1);
    nextBackoff = Math.min(options.backoffMaxMillis(), nextBackoff * 2);
    loop.schedule(() -> {
      reconnectScheduled = false;
      if (!shut) {
        connect();
      }
    }, pause, TimeUnit.MILLISECONDS);
  }

  void shutdown() {
    shut = true;
    loop.execute(() -> {
      if (channel != null) {
        channel.close();
      }
      if (connecting != null) {
        connecting.cancel(false);
      }
      discardQueues();
    });
  }

  private void discardQueues() {
    heartbeats.clear();
    heartbeatBytes.set(0);
    snapshot.set(null);
    snapshotBytes.set(0);
    while (others.poll() != null) {
      othersCount.decrementAndGet();
      transport.framesDropped.incrementAndGet();
    }
    othersBytes.set(0);
  }

  /** On the outgoing connection: answers are only proof of life; writability restarts drain. */
  private final class LinkHandler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (msg instanceof ByteBuf) {
          heard(ctx.channel());
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        scheduleDrain();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (closeReason == null) {
        closeReason = cause.toString();
      }
      ctx.close();
    }
  }
}
