package io.flotilla.server.net;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.wire.FrameDecoder;
import io.flotilla.client.wire.Frames;
import io.flotilla.client.wire.InputBudget;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client port: length-prefixed protobuf {@link Request}s in, {@link Response}s out, many in
 * flight per connection, answered in completion order.
 *
 * <p>Bad input costs only its own connection: an undecodable or oversized frame gets one error
 * response (request id 0, BAD_FRAME or TOO_LARGE) and the connection is closed; a well-formed
 * request with an op this server does not know gets UNSUPPORTED and the connection stays open.
 *
 * <p>What one client can hold of the node is bounded (issue 14, items 4 and 5):
 * <ul>
 *   <li>input: incomplete frames are buffered only as they arrive, within one budget shared by
 *       every connection ({@link Limits#inputBudgetBytes}); the connection whose frame would pass
 *       it is closed with UNAVAILABLE. A frame still incomplete after
 *       {@link Limits#frameTimeoutMillis} closes its connection with BAD_FRAME
 *       ({@link FrameDecoder});</li>
 *   <li>connections: past {@link Limits#maxConnections} a new connection gets UNAVAILABLE (request
 *       id 0) and is closed before anything is read from it; one idle (nothing received, nothing in
 *       flight) for {@link Limits#idleTimeoutMillis} is closed quietly;</li>
 *   <li>work: with {@link Limits#maxInFlightPerConnection} requests in flight a connection stops
 *       being read until half of them are answered;</li>
 *   <li>output: while a connection's unsent responses are above the high-water mark (a client
 *       that pipelines and does not read), it stops being read until they drain below the
 *       low-water mark. Its output is then bounded by the high-water mark plus the answers to
 *       requests already in flight.</li>
 * </ul>
 * Stopping to read is TCP backpressure: no error, the client's own sends block.
 */
public final class ClientPort implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClientPort.class);

  /**
   * Limits of one port.
   *
   * @param maxFrameBytes            largest request frame; also what one connection may buffer
   * @param maxInFlightPerConnection requests in flight before a connection stops being read
   * @param maxConnections           open connections; more are refused with UNAVAILABLE
   * @param inputBudgetBytes         bytes of incomplete frames all connections may hold together
   * @param frameTimeoutMillis       an incomplete frame older than this closes its connection
   * @param idleTimeoutMillis        a connection with no input and nothing in flight this long is
   *                                 closed; 0: never
   * @param writeLowWaterBytes       unsent output below which a paused connection is read again
   * @param writeHighWaterBytes      unsent output above which a connection stops being read
   */
  public record Limits(int maxFrameBytes, int maxInFlightPerConnection, int maxConnections,
      long inputBudgetBytes, long frameTimeoutMillis, long idleTimeoutMillis,
      int writeLowWaterBytes, int writeHighWaterBytes) {
    public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
    public static final long DEFAULT_INPUT_BUDGET_BYTES = 64L << 20;
    public static final long DEFAULT_FRAME_TIMEOUT_MILLIS = 10_000;
    public static final long DEFAULT_IDLE_TIMEOUT_MILLIS = 600_000;
    public static final Limits DEFAULT = new Limits(Frames.DEFAULT_MAX_FRAME_BYTES, 4096,
        DEFAULT_MAX_CONNECTIONS, DEFAULT_INPUT_BUDGET_BYTES, DEFAULT_FRAME_TIMEOUT_MILLIS,
        DEFAULT_IDLE_TIMEOUT_MILLIS, 256 << 10, 1 << 20);

    public Limits {
      if (maxFrameBytes <= 0 || maxInFlightPerConnection < 2 || maxConnections < 1
          || inputBudgetBytes <= 0 || frameTimeoutMillis <= 0 || idleTimeoutMillis < 0
          || writeLowWaterBytes <= 0 || writeHighWaterBytes < writeLowWaterBytes) {
        throw new IllegalArgumentException("bad client port limits: " + this);
      }
    }

    /** The same limits with the connection settings an operator sets (NodeConfig). */
    public Limits with(int maxConnections, long inputBudgetBytes, long frameTimeoutMillis,
        long idleTimeoutMillis) {
      return new Limits(maxFrameBytes, maxInFlightPerConnection, maxConnections, inputBudgetBytes,
          frameTimeoutMillis, idleTimeoutMillis, writeLowWaterBytes, writeHighWaterBytes);
    }

    public Limits withWriteWaterMarks(int low, int high) {
      return new Limits(maxFrameBytes, maxInFlightPerConnection, maxConnections, inputBudgetBytes,
          frameTimeoutMillis, idleTimeoutMillis, low, high);
    }
  }

  private volatile Channel serverChannel;
  private final Limits limits;
  private final InputBudget budget;
  private final AtomicInteger connections = new AtomicInteger();
  private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong closedForInput = new AtomicLong();
  private final AtomicLong closedIdle = new AtomicLong();
  private final AtomicLong outputPauses = new AtomicLong();
  /** Requests being served, over all connections (a graceful stop waits for them). */
  private final AtomicInteger inFlightTotal = new AtomicInteger();
  private volatile boolean draining;

  private ClientPort(Limits limits) {
    this.limits = limits;
    this.budget = new InputBudget(limits.inputBudgetBytes());
  }

  /** Binds {@code address} (port 0 = any free port) on the given event loops. */
  public static ClientPort start(InetSocketAddress address, EventLoopGroup boss,
      EventLoopGroup workers, RequestHandler handler, Limits limits) throws InterruptedException {
    ClientPort port = new ClientPort(limits);
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(limits.writeLowWaterBytes(), limits.writeHighWaterBytes()))
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline()
                .addLast("frames", Frames.decoder(limits.maxFrameBytes(), port.budget,
                    limits.frameTimeoutMillis()))
                .addLast("decode", new ProtobufDecoder(Request.getDefaultInstance()))
                .addLast("prepend", Frames.prepender())
                .addLast("encode", new ProtobufEncoder());
            if (limits.idleTimeoutMillis() > 0) {
              ch.pipeline().addLast("idle", new IdleStateHandler(limits.idleTimeoutMillis(), 0, 0,
                  TimeUnit.MILLISECONDS));
            }
            ch.pipeline().addLast("dispatch", new Dispatcher(handler, limits, port));
          }
        });
    port.serverChannel = b.bind(address).sync().channel();
    return port;
  }

  public InetSocketAddress localAddress() {
    return (InetSocketAddress) serverChannel.localAddress();
  }

  /** Open client connections right now (refused ones not counted). */
  public int connections() {
    return connections.get();
  }

  /** Bytes of incomplete frames buffered by all connections right now. */
  public long bufferedInputBytes() {
    return budget.used();
  }

  /** Responses written but not yet taken by the kernel, summed over all connections. */
  public long pendingOutputBytes() {
    long sum = 0;
    for (Channel ch : children) {
      var out = ch.unsafe().outboundBuffer();
      if (out != null) {
        sum += out.totalPendingWriteBytes();
      }
    }
    return sum;
  }

  /** Connections refused because {@link Limits#maxConnections} were open. */
  public long connectionsRefused() {
    return refused.get();
  }

  /** Connections closed because the input budget was full or a frame timed out. */
  public long connectionsClosedForInput() {
    return closedForInput.get();
  }

  /** Connections closed after {@link Limits#idleTimeoutMillis} without input or work. */
  public long connectionsClosedIdle() {
    return closedIdle.get();
  }

  /** Times a connection stopped being read because its unsent output passed the high-water mark. */
  public long outputPauses() {
    return outputPauses.get();
  }

  /**
   * A graceful stop: no new connections; requests that arrive from now on, and those read but
   * held back, get NODE_UNAVAILABLE (not acted on); every request already being served is
   * answered, as it finishes or, if it has not within {@code wait}, with TIMEOUT (a write may or
   * may not have been applied); then each connection is flushed and closed. Blocks until done.
   */
  public void drainAndClose(java.time.Duration wait) {
    draining = true;
    serverChannel.close().syncUninterruptibly();
    for (Channel ch : children) {
      Dispatcher d = ch.pipeline().get(Dispatcher.class);
      if (d != null) {
        ch.eventLoop().execute(d::refuseHeld);
      }
    }
    if (!awaitAnswered(System.nanoTime() + wait.toNanos())) {
      LOG.warn("{} client requests still in flight after {} ms of draining: answering TIMEOUT",
          inFlightTotal.get(), wait.toMillis());
      for (Channel ch : children) {
        Dispatcher d = ch.pipeline().get(Dispatcher.class);
        if (d != null) {
          ch.eventLoop().execute(d::abandonPending);
        }
      }
      awaitAnswered(System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
    }
    // An empty buffer written from the first handler's context bypasses the encoders and
    // completes after every answer queued before it: then the connection closes.
    for (Channel ch : children) {
      ch.eventLoop().execute(() -> {
        var first = ch.pipeline().context("frames");
        if (first == null || !ch.isActive()) {
          ch.close();
        } else {
          first.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
      });
    }
    children.newCloseFuture().awaitUninterruptibly(2, TimeUnit.SECONDS);
    children.close().syncUninterruptibly();
  }

  /** Until no request is being served on any connection, or the deadline; true if none is. */
  private boolean awaitAnswered(long deadlineNanos) {
    while (inFlightTotal.get() > 0) {
      if (System.nanoTime() >= deadlineNanos) {
        return false;
      }
      // Answers come from other threads with no single event to wait on: look again shortly.
      java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    return true;
  }

  /** Thrown into requests still unanswered when a drain gives up on them. */
  private static final class ShuttingDown extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ShuttingDown() {
      super("the node stopped before the request finished", null, false, false);
    }
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
    /** Not counted in {@link ClientPort#connections}: refused at once. */
    private boolean refused;
    // Why reading is paused; the socket is read only when neither holds.
    private boolean pausedForInFlight;
    private boolean pausedForOutput;
    /** Requests being served on this connection; touched only on its event loop. */
    private final java.util.Set<java.util.concurrent.CompletableFuture<Response>> pending =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private ChannelHandlerContext ctxOrNull;
    /** Requests decoded while paused, served in order when the pause ends. */
    private final java.util.ArrayDeque<Request> held = new java.util.ArrayDeque<>();

    Dispatcher(RequestHandler handler, Limits limits, ClientPort port) {
      this.handler = handler;
      this.limits = limits;
      this.port = port;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      if (port.connections.incrementAndGet() > limits.maxConnections()) {
        port.connections.decrementAndGet();
        port.refused.incrementAndGet();
        refused = true;
        failed = true;
        // Refused before anything is read: whatever the client sent on it was not acted on.
        ctx.channel().config().setAutoRead(false);
        LOG.debug("refusing client connection {}: {} connections open", ctx.channel().remoteAddress(),
            limits.maxConnections());
        ctx.writeAndFlush(Frames.error(0, Error.Code.UNAVAILABLE, "too many connections (limit "
            + limits.maxConnections() + "); nothing on this connection was read: retry later or"
            + " at another node")).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      ctxOrNull = ctx;
      port.children.add(ctx.channel());
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      held.clear(); // nobody to answer
      // Nobody to answer either: stop counting them (their work goes on; the answer is dropped).
      port.inFlightTotal.addAndGet(-pending.size());
      pending.clear();
      if (!refused) {
        port.connections.decrementAndGet();
      }
      super.channelInactive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Request request) {
      if (failed) {
        return; // closing: refused, or a bad frame came before
      }
      if (paused() || !held.isEmpty()) {
        // Stopping the socket does not stop the frames already in the last read (up to 64 KiB
        // of small requests, each maybe a large answer): they wait here, in order.
        held.add(request);
        return;
      }
      dispatch(ctx, request);
    }

    private boolean paused() {
      return pausedForInFlight || pausedForOutput;
    }

    private void dispatch(ChannelHandlerContext ctx, Request request) {
      long id = request.getRequestId();
      if (request.getOpCase() == Request.OpCase.OP_NOT_SET) {
        // Well-formed but an op we do not know (a newer client, or a field number we never
        // assigned): answer it and keep the connection.
        write(ctx, Frames.error(id, Error.Code.UNSUPPORTED, "unknown or missing op"));
        return;
      }
      if (port.draining) {
        write(ctx, stopping(id));
        return;
      }
      inFlight++;
      port.inFlightTotal.incrementAndGet();
      if (inFlight >= limits.maxInFlightPerConnection() && !pausedForInFlight) {
        pausedForInFlight = true;
        updateAutoRead(ctx);
      }
      java.util.concurrent.CompletableFuture<Response> f;
      try {
        f = handler.handle(request);
      } catch (RuntimeException e) {
        f = java.util.concurrent.CompletableFuture.failedFuture(e);
      }
      java.util.concurrent.CompletableFuture<Response> served = f;
      pending.add(served);
      served.whenComplete((resp, err) -> {
        Response out;
        if (err == null) {
          out = resp.toBuilder().setRequestId(id).build();
        } else if (err instanceof ShuttingDown) {
          out = Frames.error(id, Error.Code.TIMEOUT, err.getMessage()
              + "; a write may or may not have been applied");
        } else {
          LOG.error("request {} failed inside the server", id, err);
          out = Frames.error(id, Error.Code.INTERNAL, "internal error: " + err);
        }
        if (ctx.executor().inEventLoop()) {
          complete(ctx, served, out);
        } else {
          ctx.executor().execute(() -> complete(ctx, served, out));
        }
      });
    }

    private static Response stopping(long id) {
      return Frames.error(id, Error.Code.NODE_UNAVAILABLE,
          "the node is shutting down; not applied: retry at another node");
    }

    /** Draining: requests read but held back were never acted on. */
    void refuseHeld() {
      Request r;
      while ((r = held.poll()) != null) {
        write(ctxOrNull, stopping(r.getRequestId()));
      }
    }

    /** Draining gave up waiting: answer what is still being served. */
    void abandonPending() {
      for (var f : java.util.List.copyOf(pending)) {
        f.completeExceptionally(new ShuttingDown());
      }
    }

    private void complete(ChannelHandlerContext ctx, java.util.concurrent.CompletableFuture<Response> served,
        Response out) {
      if (!pending.remove(served)) {
        return; // answered already (a drain gave up on it first)
      }
      port.inFlightTotal.decrementAndGet();
      inFlight--;
      write(ctx, out);
      if (pausedForInFlight && inFlight <= limits.maxInFlightPerConnection() / 2) {
        pausedForInFlight = false;
        resume(ctx);
      }
    }

    /**
     * Output backpressure: Netty marks the channel unwritable once its unsent bytes pass the
     * high-water mark and writable again below the low one.
     */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      boolean paused = !ctx.channel().isWritable();
      if (paused != pausedForOutput) {
        pausedForOutput = paused;
        if (paused) {
          port.outputPauses.incrementAndGet();
          updateAutoRead(ctx);
        } else {
          resume(ctx);
        }
      }
      super.channelWritabilityChanged(ctx);
    }

    /** A pause ended: serve what was held back (until the next pause), then read again. */
    private void resume(ChannelHandlerContext ctx) {
      Request r;
      while (!paused() && !failed && (r = held.poll()) != null) {
        dispatch(ctx, r);
      }
      updateAutoRead(ctx);
    }

    private void updateAutoRead(ChannelHandlerContext ctx) {
      ctx.channel().config().setAutoRead(!failed && !paused() && held.isEmpty());
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
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof IdleStateEvent && inFlight == 0 && !failed) {
        // Nothing received for the idle timeout and nothing owed: the client holds a slot and
        // a socket for nothing. No error frame: it sent no request to answer.
        port.closedIdle.incrementAndGet();
        LOG.debug("closing idle client connection {}", ctx.channel().remoteAddress());
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, evt);
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
      } else if (cause instanceof FrameDecoder.BudgetExceededException) {
        // Not this client's fault alone: the node is short of room for incomplete input. The
        // frame was not read, so it was not acted on; earlier requests are answered if they can.
        port.closedForInput.incrementAndGet();
        code = Error.Code.UNAVAILABLE;
        why = cause.getMessage() + "; retry later";
      } else if (cause instanceof FrameDecoder.FrameTimeoutException) {
        port.closedForInput.incrementAndGet();
        code = Error.Code.BAD_FRAME;
        why = cause.getMessage() + " (frame timeout " + limits.frameTimeoutMillis() + " ms)";
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
