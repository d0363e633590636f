package io.flotilla.server.net;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.wire.Frames;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client port: length-prefixed protobuf {@link Request}s in, {@link Response}s out, many in
 * flight per connection, answered in completion order.
 *
 * <p>Bad input costs only its own connection: an undecodable or oversized frame gets one error
 * response (request id 0, BAD_FRAME or TOO_LARGE) and the connection is closed; a well-formed
 * request with an op this server does not know gets UNSUPPORTED and the connection stays open.
 * A connection with too many requests in flight stops being read until half of them are answered,
 * so one client cannot queue unbounded work.
 */
public final class ClientPort implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClientPort.class);

  /** Limits of one port. */
  public record Limits(int maxFrameBytes, int maxInFlightPerConnection) {
    public static final Limits DEFAULT = new Limits(Frames.DEFAULT_MAX_FRAME_BYTES, 4096);
  }

  private volatile Channel serverChannel;
  private final AtomicInteger connections = new AtomicInteger();
  private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private ClientPort() {}

  /** Binds {@code address} (port 0 = any free port) on the given event loops. */
  public static ClientPort start(InetSocketAddress address, EventLoopGroup boss,
      EventLoopGroup workers, RequestHandler handler, Limits limits) throws InterruptedException {
    ClientPort port = new ClientPort();
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast("frames", Frames.decoder(limits.maxFrameBytes()))
                .addLast("decode", new ProtobufDecoder(Request.getDefaultInstance()))
                .addLast("prepend", Frames.prepender())
                .addLast("encode", new ProtobufEncoder())
                .addLast("dispatch", new Dispatcher(handler, limits, port));
          }
        });
    port.serverChannel = b.bind(address).sync().channel();
    return port;
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** Open client connections right now. */
  public int connections() {
    return connections.get();
  }

  /** Closes every client connection (shutdown, or a test dropping responses on the floor). */
  public void closeAllConnections() {
    children.close().syncUninterruptibly();
  }

  @Override
  public void close() {
    serverChannel.close().syncUninterruptibly();
  }

  /** Per connection: dispatches requests, writes responses, coalesces flushes. */
  private static final class Dispatcher extends SimpleChannelInboundHandler<Request> {
    private final RequestHandler handler;
    private final Limits limits;
    private final ClientPort port;
    private int inFlight;
    private boolean flushScheduled;
    private boolean failed;

    Dispatcher(RequestHandler handler, Limits limits, ClientPort port) {
      this.handler = handler;
      this.limits = limits;
      this.port = port;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      port.connections.incrementAndGet();
      port.children.add(ctx.channel());
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      port.connections.decrementAndGet();
      super.channelInactive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Request request) {
      long id = request.getRequestId();
      if (request.getOpCase() == Request.OpCase.OP_NOT_SET) {
        // Well-formed but an op we do not know (a newer client, or a field number we never
        // assigned): answer it and keep the connection.
        write(ctx, Frames.error(id, Error.Code.UNSUPPORTED, "unknown or missing op"));
        return;
      }
      inFlight++;
      if (inFlight >= limits.maxInFlightPerConnection()) {
        ctx.channel().config().setAutoRead(false);
      }
      java.util.concurrent.CompletableFuture<Response> f;
      try {
        f = handler.handle(request);
      } catch (RuntimeException e) {
        f = java.util.concurrent.CompletableFuture.failedFuture(e);
      }
      f.whenComplete((resp, err) -> {
        Response out = err == null
            ? resp.toBuilder().setRequestId(id).build()
            : Frames.error(id, Error.Code.INTERNAL, "internal error: " + err);
        if (err != null) {
          LOG.error("request {} failed inside the server", id, err);
        }
        if (ctx.executor().inEventLoop()) {
          complete(ctx, out);
        } else {
          ctx.executor().execute(() -> complete(ctx, out));
        }
      });
    }

    private void complete(ChannelHandlerContext ctx, Response out) {
      inFlight--;
      if (!ctx.channel().config().isAutoRead()
          && inFlight <= limits.maxInFlightPerConnection() / 2 && !failed) {
        ctx.channel().config().setAutoRead(true);
      }
      write(ctx, out);
    }

    /** Writes now, flushes once at the end of this event-loop turn. */
    private void write(ChannelHandlerContext ctx, Response out) {
      if (!ctx.channel().isActive()) {
        return;
      }
      ctx.write(out, ctx.voidPromise());
      if (!flushScheduled) {
        flushScheduled = true;
        ctx.executor().execute(() -> {
          flushScheduled = false;
          ctx.flush();
        });
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (failed) {
        return;
      }
      failed = true;
      Error.Code code;
      String why;
      if (cause instanceof TooLongFrameException) {
        code = Error.Code.TOO_LARGE;
        why = "frame larger than " + limits.maxFrameBytes() + " bytes";
      } else if (cause instanceof DecoderException) {
        code = Error.Code.BAD_FRAME;
        why = "undecodable frame: " + rootMessage(cause);
      } else {
        LOG.warn("client connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
        return;
      }
      LOG.warn("closing client connection {}: {}", ctx.channel().remoteAddress(), why);
      ctx.channel().config().setAutoRead(false);
      ctx.writeAndFlush(Frames.error(0, code, why)).addListener(ChannelFutureListener.CLOSE);
    }

    private static String rootMessage(Throwable t) {
      Throwable c = t;
      while (c.getCause() != null) {
        c = c.getCause();
      }
      return c.getClass().getSimpleName() + ": " + c.getMessage();
    }
  }
}
