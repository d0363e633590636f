package io.flotilla.server.net;

import io.flotilla.client.Endpoint;
import io.flotilla.client.wire.Frames;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer port: opaque frames (encoded Raft messages) between nodes, one outgoing connection per
 * peer. Raft tolerates loss, so the transport never blocks and never retries a frame: while a peer
 * is unreachable, frames beyond a small queue are dropped and counted, and the connection is
 * retried with exponential backoff and jitter. Peers are addressed by host name, resolved at every
 * connect, so a peer that moves to a new IP under the same name is found again.
 *
 * <p>Frames queued from any thread are written by the peer's event loop in one task and flushed
 * once per turn, however many arrived.
 */
public final class PeerTransport implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PeerTransport.class);

  /** Tuning of the peer links. */
  public record Options(int maxFrameBytes, int maxQueuedFrames, long backoffMinMillis,
      long backoffMaxMillis, int connectTimeoutMillis) {
    public static final Options DEFAULT = new Options(64 << 20, 4096, 50, 2000, 2000);
  }

  private final Options options;
  private final EventLoopGroup group;
  private final BiConsumer<byte[], SocketAddress> inbound;
  private final Map<Long, Link> links = new ConcurrentHashMap<>();
  private final Bootstrap bootstrap;
  private volatile Channel serverChannel;
  private volatile boolean closed;
  private final AtomicLong framesDropped = new AtomicLong();
  /**
   * Fault injection (tests and chaos runs only, switched on by the node's admin port when the
   * node was started with fault injection enabled): frames to these peers are dropped, as a
   * network partition would. Empty in production, so the check costs one volatile read.
   */
  private volatile java.util.Set<Long> dropTo = java.util.Set.of();
  private final AtomicLong framesDroppedByFault = new AtomicLong();
  /** Byte counts per peer, for metrics; a no-op until {@link #setTraffic} is called. */
  private volatile Traffic traffic = Traffic.NONE;
  /** Accepted (incoming) connections, closed with the transport so peers notice at once. */
  private final ChannelGroup accepted = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private PeerTransport(Options options, EventLoopGroup group, BiConsumer<byte[], SocketAddress> inbound) {
    this.options = options;
    this.group = group;
    this.inbound = inbound;
    this.bootstrap = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, options.connectTimeoutMillis())
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // Outgoing links only send; anything a peer sends back on them is discarded.
            ch.pipeline().addLast(Frames.prepender());
          }
        });
  }

  /**
   * Listens on {@code bind} (port 0: any) and delivers every frame received from any peer to
   * {@code inbound} with the connection's remote address (for the receiver's logs), on a Netty
   * thread: the consumer must hand it off, not block.
   */
  public static PeerTransport start(InetSocketAddress bind, EventLoopGroup group,
      BiConsumer<byte[], SocketAddress> inbound, Options options) throws InterruptedException {
    PeerTransport t = new PeerTransport(options, group, inbound);
    t.serverChannel = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast(Frames.decoder(options.maxFrameBytes()))
                .addLast(t.new Receiver());
          }
        })
        .bind(bind).sync().channel();
    return t;
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** Adds or moves a peer; an existing link to another address is dropped and reconnected. */
  public void setPeer(long nodeId, Endpoint endpoint) {
    Link old = links.put(nodeId, new Link(nodeId, endpoint, group.next()));
    if (old != null) {
      old.shutdown();
    }
  }

  public void removePeer(long nodeId) {
    Link old = links.remove(nodeId);
    if (old != null) {
      old.shutdown();
    }
  }

  /** Queues a frame for {@code nodeId}; never blocks. Unknown peers and overflow drop the frame. */
  public void send(long nodeId, byte[] frame) {
    if (dropTo.contains(nodeId)) {
      framesDroppedByFault.incrementAndGet();
      return;
    }
    Link link = links.get(nodeId);
    if (link == null || closed) {
      framesDropped.incrementAndGet();
      return;
    }
    link.enqueue(frame);
  }

  /**
   * Per-peer byte counts (frame plus its 4-byte length prefix), called on Netty threads: must
   * only bump a pre-registered counter. The transport treats frames as opaque, so the receiving
   * side is attributed by {@code senderOf}, which the node that knows the message format supplies.
   */
  public interface Traffic {
    Traffic NONE = new Traffic() {
      @Override
      public void sent(long peerId, int bytes) {}

      @Override
      public void received(byte[] frame, int bytes) {}
    };

    void sent(long peerId, int bytes);

    /** {@code frame} as delivered to the inbound consumer (read-only). */
    void received(byte[] frame, int bytes);
  }

  public void setTraffic(Traffic traffic) {
    this.traffic = traffic;
  }

  /** Frames dropped so far (unknown peer, queue full while disconnected, transport closed). */
  public long framesDropped() {
    return framesDropped.get();
  }

  /**
   * Drops every frame this node sends to {@code peers} from now on (an empty set heals). One
   * direction only: a two-way partition sets the drop on both sides. Fault injection only.
   */
  public void dropFramesTo(java.util.Set<Long> peers) {
    dropTo = java.util.Set.copyOf(peers);
  }

  /** The peers whose frames are being dropped by {@link #dropFramesTo}. */
  public java.util.Set<Long> droppingFramesTo() {
    return dropTo;
  }

  /** Frames dropped by {@link #dropFramesTo} so far. */
  public long framesDroppedByFault() {
    return framesDroppedByFault.get();
  }

  /** True when the link to {@code nodeId} has a live connection. */
  public boolean connected(long nodeId) {
    Link l = links.get(nodeId);
    return l != null && l.channel != null && l.channel.isActive();
  }

  @Override
  public void close() {
    closed = true;
    links.values().forEach(Link::shutdown);
    links.clear();
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    accepted.close().syncUninterruptibly();
  }

  /** The outgoing side to one peer: a queue drained by its event loop, and reconnection. */
  private final class Link {
    final long nodeId;
    final Endpoint endpoint;
    final EventLoop loop;
    final Queue<byte[]> queue = new ConcurrentLinkedQueue<>();
    final AtomicInteger queued = new AtomicInteger();
    final AtomicBoolean drainScheduled = new AtomicBoolean();
    // Touched only on loop:
    Channel channel;
    ChannelFuture connecting;
    long nextBackoff = options.backoffMinMillis();
    boolean reconnectScheduled;
    volatile boolean shut;

    Link(long nodeId, Endpoint endpoint, EventLoop loop) {
      this.nodeId = nodeId;
      this.endpoint = endpoint;
      this.loop = loop;
    }

    void enqueue(byte[] frame) {
      if (queued.incrementAndGet() > options.maxQueuedFrames()) {
        queued.decrementAndGet();
        framesDropped.incrementAndGet();
        return;
      }
      queue.add(frame);
      if (drainScheduled.compareAndSet(false, true)) {
        loop.execute(this::drain);
      }
    }

    /** On loop: writes everything queued, flushes once. */
    private void drain() {
      drainScheduled.set(false);
      if (shut) {
        discardQueue();
        return;
      }
      if (channel == null || !channel.isActive()) {
        connect();
        return; // the queue waits (bounded) until the connection is up
      }
      boolean wrote = false;
      byte[] f;
      while ((f = queue.poll()) != null) {
        queued.decrementAndGet();
        channel.write(Unpooled.wrappedBuffer(f), channel.voidPromise());
        traffic.sent(nodeId, f.length + Frames.LENGTH_BYTES);
        wrote = true;
      }
      if (wrote) {
        channel.flush();
      }
    }

    /** On loop: starts a connection unless one is under way or a retry is scheduled. */
    private void connect() {
      if (connecting != null || reconnectScheduled || shut) {
        return;
      }
      // Unresolved: the name is looked up now, on every attempt.
      connecting = bootstrap.clone(loop).connect(
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
        if (done.isSuccess()) {
          channel = ch;
          nextBackoff = options.backoffMinMillis();
          LOG.info("connected to peer {} at {}", nodeId, endpoint);
          channel.closeFuture().addListener(c -> {
            if (!shut) {
              LOG.info("lost connection to peer {} at {}", nodeId, endpoint);
              scheduleReconnect();
            }
          });
          drain();
        } else {
          LOG.debug("cannot connect to peer {} at {}: {}", nodeId, endpoint, done.cause().toString());
          scheduleReconnect();
        }
      });
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
        discardQueue();
      });
    }

    private void discardQueue() {
      while (queue.poll() != null) {
        queued.decrementAndGet();
        framesDropped.incrementAndGet();
      }
    }
  }

  /** Incoming side: frames from any peer go to the consumer; bad input closes that connection. */
  private final class Receiver extends SimpleChannelInboundHandler<ByteBuf> {
    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      accepted.add(ctx.channel());
      if (closed) {
        ctx.close();
      }
      super.channelActive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
      byte[] bytes = ByteBufUtil.getBytes(frame);
      traffic.received(bytes, bytes.length + Frames.LENGTH_BYTES);
      try {
        inbound.accept(bytes, ctx.channel().remoteAddress());
      } catch (RuntimeException e) {
        // An undecodable message is the sender's problem, not ours: drop its connection.
        LOG.warn("closing peer connection {}: bad frame: {}", ctx.channel().remoteAddress(),
            e.toString());
        ctx.close();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.warn("closing peer connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
