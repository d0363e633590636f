package io.flotilla.server.net;

import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.wire.FrameDecoder;
import io.flotilla.client.wire.Frames;
import io.flotilla.client.wire.InputBudget;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
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
 * Each connection is served by a {@link ClientDispatcher}.
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
  final AtomicInteger connections = new AtomicInteger();
  final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  final AtomicLong refused = new AtomicLong();
  final AtomicLong closedForInput = new AtomicLong();
  final AtomicLong closedIdle = new AtomicLong();
  final AtomicLong outputPauses = new AtomicLong();
  /** Requests being served, over all connections (a graceful stop waits for them). */
  final AtomicInteger inFlightTotal = new AtomicInteger();
  volatile boolean draining;

  private ClientPort(Limits limits) {
    this.limits = limits;
    this.budget = new InputBudget(limits.inputBudgetBytes());
  }

  /** Binds {@code address} (port 0 = any free port) on the given event loops. */
  public static ClientPort start(InetSocketAddress address, EventLoopGroup boss,
      EventLoopGroup workers, RequestHandler handler, Limits limits) throws InterruptedException {
    return start(address, boss, workers, handler, limits, io.flotilla.server.tls.PortTls.NONE);
  }

  /** As above, with TLS first on every connection ({@code tls}; {@code PortTls.NONE}: plain text). */
  public static ClientPort start(InetSocketAddress address, EventLoopGroup boss,
      EventLoopGroup workers, RequestHandler handler, Limits limits, io.flotilla.server.tls.PortTls tls)
      throws InterruptedException {
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
            tls.install(ch);
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
            ch.pipeline().addLast("dispatch", new ClientDispatcher(handler, limits, port));
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
  public void drainAndClose(Duration wait) {
    draining = true;
    serverChannel.close().syncUninterruptibly();
    for (Channel ch : children) {
      ClientDispatcher d = ch.pipeline().get(ClientDispatcher.class);
      if (d != null) {
        ch.eventLoop().execute(d::refuseHeld);
      }
    }
    if (!awaitAnswered(System.nanoTime() + wait.toNanos())) {
      LOG.warn("{} client requests still in flight after {} ms of draining: answering TIMEOUT",
          inFlightTotal.get(), wait.toMillis());
      for (Channel ch : children) {
        ClientDispatcher d = ch.pipeline().get(ClientDispatcher.class);
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
          first.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
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
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
    }
    return true;
  }

  /** Thrown into requests still unanswered when a drain gives up on them. */
  static final class ShuttingDown extends RuntimeException {
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
}
