package io.flotilla.client;

import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.wire.Frames;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One multiplexed connection to one node: requests carry ids from one counter, responses are
 * matched back by id. Connects lazily and again after a drop; the host name is resolved on every
 * connect.
 */
final class NodeConnection {
  /** The request never reached the wire: retrying it cannot duplicate it. */
  static final class NotSentException extends Exception {
    private static final long serialVersionUID = 1L;

    NotSentException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The connection dropped after the request was written: it may have been applied. */
  static final class ConnectionLostException extends Exception {
    private static final long serialVersionUID = 1L;

    ConnectionLostException(String message) {
      super(message);
    }
  }

  private final Endpoint endpoint;
  private final Bootstrap bootstrap;
  /**
   * Until when (System.nanoTime) callers should try other nodes first: this one let an attempt
   * time out (a frozen process still accepts connections). 0: no reason to avoid it.
   */
  private volatile long avoidUntilNanos;
  private final AtomicLong ids = new AtomicLong();
  private Wire wire; // guarded by this
  private boolean closed; // guarded by this

  /** TLS for this connection, or null for plain text. */
  private final io.flotilla.client.tls.ClientTls tls;

  NodeConnection(Endpoint endpoint, EventLoopGroup group, int maxFrameBytes, int connectTimeoutMs) {
    this(endpoint, group, maxFrameBytes, connectTimeoutMs, null);
  }

  NodeConnection(Endpoint endpoint, EventLoopGroup group, int maxFrameBytes, int connectTimeoutMs,
      io.flotilla.client.tls.ClientTls tls) {
    this.endpoint = endpoint;
    this.tls = tls;
    this.bootstrap = new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .resolver(io.flotilla.client.wire.OffLoopResolver.INSTANCE) // a slow lookup must not hold the loop
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (tls != null) {
              ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), endpoint.host(), endpoint.port()));
            }
            ch.pipeline()
                .addLast(new FlushConsolidationHandler(256, true))
                .addLast(Frames.decoder(maxFrameBytes))
                .addLast(new ProtobufDecoder(Response.getDefaultInstance()))
                .addLast(Frames.prepender())
                .addLast(new ProtobufEncoder());
          }
        });
  }

  Endpoint endpoint() {
    return endpoint;
  }

  /** This node let an attempt time out: prefer others for {@code nanos}. */
  void avoidFor(long nanos) {
    avoidUntilNanos = Math.max(1, System.nanoTime() + nanos);
  }

  /** This node answered: nothing against it any more. */
  void answered() {
    if (avoidUntilNanos != 0) {
      avoidUntilNanos = 0;
    }
  }

  /**
   * The next node in {@code order} that is not being avoided (it let an attempt time out
   * lately); if every node is, the next one anyway: one of them may be back.
   */
  static NodeConnection firstAnswering(java.util.List<NodeConnection> all,
      java.util.function.IntSupplier order) {
    long now = System.nanoTime();
    NodeConnection first = null;
    for (int i = 0; i < all.size(); i++) {
      NodeConnection c = all.get(Math.floorMod(order.getAsInt(), all.size()));
      if (!c.avoided(now)) {
        return c;
      }
      if (first == null) {
        first = c;
      }
    }
    return first;
  }

  /** Whether to try other nodes before this one at {@code nowNanos}. */
  boolean avoided(long nowNanos) {
    long until = avoidUntilNanos;
    return until != 0 && nowNanos - until < 0;
  }

  /** Sends with a fresh request id; the future fails with NotSent or ConnectionLost. */
  CompletableFuture<Response> send(Request request) {
    return send(request, () -> true);
  }

  /**
   * As {@link #send(Request)}, asking {@code mayWrite} on the connection's thread right before the
   * request goes to the socket: false (the caller gave up first) fails it with NotSent, so a
   * caller can tell for certain whether a request ever reached the wire.
   */
  CompletableFuture<Response> send(Request request, java.util.function.BooleanSupplier mayWrite) {
    long id = ids.incrementAndGet();
    Request r = request.toBuilder().setRequestId(id).build();
    CompletableFuture<Response> f = new CompletableFuture<>();
    Wire w;
    synchronized (this) {
      if (closed) {
        f.completeExceptionally(new NotSentException("client closed", null));
        return f;
      }
      if (wire == null || wire.dead) {
        wire = new Wire();
      }
      w = wire;
    }
    w.send(id, r, f, mayWrite);
    return f;
  }

  void close() {
    Wire w;
    synchronized (this) {
      closed = true;
      w = wire;
      wire = null;
    }
    if (w != null) {
      w.connect.channel().close();
      w.failAll("client closed");
    }
  }

  /**
   * One TCP connection and the requests waiting on it. Requests die with their connection; a new
   * connection starts with none, so a late close of the old one cannot fail newer requests.
   */
  private final class Wire {
    final Map<Long, CompletableFuture<Response>> pending = new ConcurrentHashMap<>();
    final ChannelFuture connect;
    /**
     * Connected and, over TLS, the handshake done: requests wait for this, so one refused by a
     * handshake is known never to have been sent.
     */
    final io.netty.util.concurrent.Promise<Channel> ready;
    volatile boolean dead;
    /** Connected to itself (see {@link #selfConnected}); closed at once, nothing sent. */
    volatile boolean self;

    Wire() {
      // Unresolved: Netty resolves the name now, so a node whose address changed is found again.
      connect = bootstrap.connect(InetSocketAddress.createUnresolved(endpoint.host(),
          endpoint.port()));
      // Listeners run where it completes (the connection's loop), as a ChannelFuture's would.
      ready = new io.netty.util.concurrent.DefaultPromise<>(io.netty.util.concurrent.ImmediateEventExecutor.INSTANCE);
      connect.addListener(done -> {
        if (!done.isSuccess()) {
          dead = true;
          ready.tryFailure(done.cause());
          return;
        }
        Channel ch = connect.channel();
        if (selfConnected(ch)) {
          self = true;
          dead = true;
          ch.close();
          ready.tryFailure(new java.io.IOException("connected to itself: nothing listens there"));
          return;
        }
        ch.pipeline().addLast(new Inbound(this));
        ch.closeFuture().addListener(c -> {
          dead = true;
          failAll("connection to " + endpoint + " closed");
        });
        var ssl = ch.pipeline().get(io.netty.handler.ssl.SslHandler.class);
        if (ssl == null) {
          ready.trySuccess(ch);
          return;
        }
        ssl.handshakeFuture().addListener(hs -> {
          if (hs.isSuccess()) {
            ready.trySuccess(ch);
          } else {
            dead = true;
            ready.tryFailure(new TlsRefusedException("TLS handshake with " + endpoint + " failed: "
                + describe(hs.cause()), hs.cause()));
          }
        });
      });
    }

    void send(long id, Request r, CompletableFuture<Response> f, java.util.function.BooleanSupplier mayWrite) {
      ready.addListener(done -> {
        if (!done.isSuccess() || self) {
          f.completeExceptionally(done.cause() instanceof TlsRefusedException refused
              ? new NotSentException(refused.getMessage(), refused)
              : new NotSentException("cannot connect to " + endpoint, done.cause()));
          return;
        }
        if (!mayWrite.getAsBoolean()) {
          f.completeExceptionally(new NotSentException("abandoned before it was sent to " + endpoint, null));
          return;
        }
        Channel ch = connect.channel();
        pending.put(id, f);
        // A caller that gives up (deadline) completes f itself: forget the slot then too.
        f.whenComplete((ok, err) -> pending.remove(id));
        ch.writeAndFlush(r).addListener(written -> {
          if (!written.isSuccess() && pending.remove(id) != null) {
            f.completeExceptionally(new ConnectionLostException("write to " + endpoint
                + " failed: " + written.cause()));
          }
        });
        if (dead && pending.remove(id) != null) {
          f.completeExceptionally(new ConnectionLostException("connection to " + endpoint
              + " closed"));
        }
      });
    }

    /** The node refused this connection before reading any request: none was applied. */
    void refuseAll(String why) {
      for (Long id : pending.keySet()) {
        CompletableFuture<Response> f = pending.remove(id);
        if (f != null) {
          f.completeExceptionally(new NotSentException(endpoint + ": " + why, new TlsRefusedException(why, null)));
        }
      }
    }

    void failAll(String why) {
      for (Long id : pending.keySet()) {
        CompletableFuture<Response> f = pending.remove(id);
        if (f != null) {
          f.completeExceptionally(new ConnectionLostException(why));
        }
      }
    }
  }

  /** The TLS handshake failed: this node or its certificate was refused, or it refused ours. */
  static final class TlsRefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    TlsRefusedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * What went wrong in a handshake, in words an operator can act on: the JDK's innermost message,
   * plus which end refused what when the server said so with an alert.
   */
  static String describe(Throwable cause) {
    Throwable t = cause;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String msg = t.getMessage() != null ? t.getMessage() : t.toString();
    if (t instanceof io.netty.handler.ssl.NotSslRecordException) {
      return "the node answered in plain text: it does not run TLS on this port (drop --tls-dir, or start it with TLS)";
    }
    if (msg.contains("Received fatal alert: bad_certificate") || msg.contains("Received fatal alert: certificate_unknown")
        || msg.contains("Received fatal alert: certificate_expired") || msg.contains("Received fatal alert: unknown_ca")) {
      return msg + " (the node refused this client's certificate: is it issued by the cluster's CA,"
          + " unexpired, and a client or node certificate? The node's log says which)";
    }
    if (msg.contains("Extended key usage does not permit use for TLS server authentication")) {
      return msg + " (the server's certificate is not a node's)";
    }
    if (t instanceof java.io.IOException && msg.contains("Connection reset")) {
      return msg + " (the node closed the connection during the handshake: it may not run TLS on this port)";
    }
    return msg;
  }

  /**
   * True when a connection to a local port with no listener ended up connected to itself: TCP
   * simultaneous open when the kernel picks that same port as the ephemeral source port (it can,
   * for any port in the ephemeral range). Such a "server" echoes every request back, and an echoed
   * get decodes as a response saying "not found", an echoed write as an acknowledgement. Found by
   * the chaos run while a node was down.
   */
  static boolean selfConnected(Channel ch) {
    return ch.localAddress() != null && ch.localAddress().equals(ch.remoteAddress());
  }

  private static final class Inbound extends SimpleChannelInboundHandler<Response> {
    private final Wire wire;

    Inbound(Wire wire) {
      this.wire = wire;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Response r) {
      CompletableFuture<Response> f = wire.pending.remove(r.getRequestId());
      if (f != null) {
        f.complete(r);
      } else if (r.getRequestId() == 0 && r.hasError() && r.getError().getCode() == io.flotilla.client.proto.Error.Code.TLS_REFUSED) {
        // A TLS port answering our plain text: it read no request of ours; retrying cannot help.
        wire.refuseAll(r.getError().getMessage());
      } else if (r.getRequestId() == 0 && r.hasError()) {
        // The server could not read something we sent and is closing: all in flight are lost.
        wire.failAll("server refused a frame: " + r.getError().getMessage());
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
