package io.flotilla.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP port: {@code GET /health} (200 "ok" or 503), {@code GET /status} (JSON of
 * whatever the node reports), {@code GET /metrics} (Prometheus text from Micrometer), and the
 * cluster dashboard at {@code /} with its JSON ({@link Dashboard}). Read-only, except
 * {@code /fault} on a node started with fault injection enabled (tests and chaos runs) and the
 * dashboard's kill and restart on a node of a local cluster.
 *
 * <p>The status source answers with a future and is never waited for on the event loop: a slow
 * status (the node hashes its whole state) leaves {@code /health} and {@code /metrics} answering.
 */
public final class AdminServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AdminServer.class);
  private static final int MAX_REQUEST_BYTES = 64 * 1024;
  static final String PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /**
   * What the admin port shows; {@code faults} is null unless fault injection is enabled.
   * {@code status} starts building the status object (serialized as JSON) and returns at once.
   */
  public record Sources(BooleanSupplier healthy, Supplier<CompletableFuture<?>> status,
      PrometheusMeterRegistry metrics, FaultControl faults, Dashboard dashboard) {
    public Sources(BooleanSupplier healthy, Supplier<CompletableFuture<?>> status,
        PrometheusMeterRegistry metrics, FaultControl faults) {
      this(healthy, status, metrics, faults, null);
    }

    public Sources(BooleanSupplier healthy, Supplier<CompletableFuture<?>> status,
        PrometheusMeterRegistry metrics) {
      this(healthy, status, metrics, null, null);
    }
  }

  /**
   * The network faults a chaos run may inject into a node started with
   * {@code --enable-fault-injection}: drop the frames this node sends to some peers.
   */
  public interface FaultControl {
    void dropFramesTo(Set<Long> peers);

    Set<Long> droppingFramesTo();

    long framesDroppedByFault();

    /**
     * Holds the node's Raft loop for {@code millis} (a slow fsync, a long apply batch): the
     * network threads keep queueing requests and messages meanwhile.
     */
    void stallRaftLoop(long millis);
  }

  private final Channel channel;
  /** The thread this server owns, if it was started with one of its own; else null. */
  private final EventLoopGroup ownGroup;

  private AdminServer(Channel channel, EventLoopGroup ownGroup) {
    this.channel = channel;
    this.ownGroup = ownGroup;
  }

  /**
   * Starts on a network thread of its own: {@code /health} and {@code /status} then answer
   * whatever load the client port is under.
   */
  public static AdminServer start(InetSocketAddress address, Sources sources)
      throws InterruptedException {
    return start(address, sources, io.flotilla.server.tls.PortTls.NONE);
  }

  /** As above, over HTTPS when {@code tls} is on. */
  public static AdminServer start(InetSocketAddress address, Sources sources, io.flotilla.server.tls.PortTls tls)
      throws InterruptedException {
    EventLoopGroup group = new NioEventLoopGroup(1,
        new DefaultThreadFactory("flotilla-admin"));
    try {
      return new AdminServer(bind(address, group, group, sources, tls), group);
    } catch (InterruptedException | RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  public static AdminServer start(InetSocketAddress address, EventLoopGroup boss,
      EventLoopGroup workers, Sources sources) throws InterruptedException {
    return new AdminServer(bind(address, boss, workers, sources, io.flotilla.server.tls.PortTls.NONE), null);
  }

  private static Channel bind(InetSocketAddress address, EventLoopGroup boss,
      EventLoopGroup workers, Sources sources, io.flotilla.server.tls.PortTls tls) throws InterruptedException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Channel ch = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel c) {
            tls.install(c);
            c.pipeline()
                .addLast(new HttpServerCodec())
                .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                .addLast(new Handler(sources, json));
          }
        })
        .bind(address).sync().channel();
    return ch;
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    if (ownGroup != null) {
      ownGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Sources sources;
    private final ObjectMapper json;

    Handler(Sources sources, ObjectMapper json) {
      this.sources = sources;
      this.json = json;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (!req.decoderResult().isSuccess()) {
        send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain", "bad request\n");
        return;
      }
      QueryStringDecoder uri = new QueryStringDecoder(req.uri());
      String path = uri.path();
      if (path.equals("/fault")) {
        fault(ctx, req, uri);
        return;
      }
      if (sources.dashboard() != null && Dashboard.handles(path)) {
        later(ctx, req, sources.dashboard().serve(req.method().name(), path, uri.parameters(),
            req.headers().get(Dashboard.CONTROL_HEADER)));
        return;
      }
      if (req.method() != HttpMethod.GET) {
        send(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
        return;
      }
      try {
        switch (path) {
          case "/health" -> {
            boolean ok = sources.healthy().getAsBoolean();
            send(ctx, req, ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                "text/plain", ok ? "ok\n" : "unhealthy\n");
          }
          case "/status" -> status(ctx, req);
          case "/metrics" -> send(ctx, req, HttpResponseStatus.OK, PROMETHEUS_CONTENT_TYPE,
              sources.metrics().scrape());
          default -> send(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain",
              "not found; try /, /health, /status or /metrics\n");
        }
      } catch (Exception e) {
        LOG.warn("admin request {} failed", path, e);
        send(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain", e + "\n");
      }
    }

    /**
     * Answers once the status source completes, from whichever thread completes it. Until then the
     * connection reads nothing more, so that answers on a keep-alive connection stay in order.
     */
    private void status(ChannelHandlerContext ctx, FullHttpRequest req) {
      CompletableFuture<?> status;
      try {
        status = sources.status().get();
      } catch (RuntimeException e) {
        status = CompletableFuture.failedFuture(e);
      }
      later(ctx, req, status.handle((s, t) -> {
        try {
          if (t == null) {
            return new Dashboard.Reply(200, "application/json",
                (json.writeValueAsString(s) + "\n").getBytes(StandardCharsets.UTF_8));
          }
        } catch (Exception e) {
          t = e;
        }
        LOG.warn("admin request /status failed", t);
        return Dashboard.Reply.text(500, String.valueOf(t));
      }));
    }

    /** Answers with {@code reply} once it completes; reads nothing more on the connection meanwhile. */
    private static void later(ChannelHandlerContext ctx, FullHttpRequest req,
        CompletableFuture<Dashboard.Reply> reply) {
      boolean keepAlive = HttpUtil.isKeepAlive(req);
      ctx.channel().config().setAutoRead(false);
      reply.whenComplete((r, t) -> {
        try {
          Dashboard.Reply out = t == null ? r : Dashboard.Reply.text(500, String.valueOf(t));
          FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(out.status()), Unpooled.wrappedBuffer(out.body()));
          resp.headers().set(HttpHeaderNames.CONTENT_TYPE, out.contentType());
          resp.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
          write(ctx, keepAlive, resp);
        } finally {
          ctx.channel().config().setAutoRead(true);
        }
      });
    }

    /**
     * {@code GET /fault}: what is injected. {@code POST /fault?drop-to=2,3}: drop every frame this
     * node sends to nodes 2 and 3 (replacing any earlier drop); {@code POST /fault?drop-to=}
     * heals. {@code POST /fault?stall-raft-ms=N}: hold the Raft loop for N ms (answers at once). Only on a node started with fault injection enabled; otherwise 403.
     */
    private void fault(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri) {
      if (sources.faults() == null) {
        send(ctx, req, HttpResponseStatus.FORBIDDEN, "text/plain",
            "fault injection is off; start the node with --enable-fault-injection (tests only)\n");
        return;
      }
      FaultControl f = sources.faults();
      if (req.method() == HttpMethod.POST && uri.parameters().containsKey("stall-raft-ms")) {
        List<String> ms = uri.parameters().get("stall-raft-ms");
        long millis;
        try {
          millis = ms.size() == 1 ? Long.parseLong(ms.get(0).trim()) : -1;
        } catch (NumberFormatException e) {
          millis = -1;
        }
        if (millis < 0 || millis > 3_600_000) {
          send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain",
              "expected exactly one stall-raft-ms=MILLIS, 0 to 3600000\n");
          return;
        }
        f.stallRaftLoop(millis);
        LOG.warn("fault injection: stalling the Raft loop for {} ms", millis);
        send(ctx, req, HttpResponseStatus.OK, "application/json", "{\"stallRaftMs\":" + millis + "}\n");
        return;
      }
      if (req.method() == HttpMethod.POST) {
        List<String> spec = uri.parameters().get("drop-to");
        if (spec == null || spec.size() != 1) {
          send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain",
              "expected exactly one drop-to=ID,ID,... (empty heals)\n");
          return;
        }
        Set<Long> ids = new TreeSet<>();
        for (String part : spec.get(0).split(",")) {
          if (part.isBlank()) {
            continue;
          }
          try {
            ids.add(Long.parseLong(part.trim()));
          } catch (NumberFormatException e) {
            send(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain",
                "drop-to: '" + part + "' is not a node id\n");
            return;
          }
        }
        f.dropFramesTo(ids);
        LOG.warn("fault injection: dropping frames to {}", ids);
      } else if (req.method() != HttpMethod.GET) {
        send(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "GET or POST\n");
        return;
      }
      try {
        send(ctx, req, HttpResponseStatus.OK, "application/json", json.writeValueAsString(
            Map.of("dropTo", new TreeSet<>(f.droppingFramesTo()),
                "framesDropped", f.framesDroppedByFault())) + "\n");
      } catch (Exception e) {
        send(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain", e + "\n");
      }
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest req,
        HttpResponseStatus status, String contentType, String body) {
      send(ctx, HttpUtil.isKeepAlive(req), status, contentType, body);
    }

    private static void send(ChannelHandlerContext ctx, boolean keepAlive,
        HttpResponseStatus status, String contentType, String body) {
      FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
          Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
      resp.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
      write(ctx, keepAlive, resp);
    }

    private static void write(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse resp) {
      HttpUtil.setContentLength(resp, resp.content().readableBytes());
      if (keepAlive) {
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        ctx.writeAndFlush(resp);
      } else {
        ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
