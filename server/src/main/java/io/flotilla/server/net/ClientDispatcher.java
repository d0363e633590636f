package io.flotilla.server.net;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.wire.FrameDecoder;
import io.flotilla.client.wire.Frames;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Per connection: dispatches requests, writes responses, coalesces flushes. */
final class ClientDispatcher extends SimpleChannelInboundHandler<Request> {
  private static final Logger LOG = LoggerFactory.getLogger(ClientDispatcher.class);

  private final RequestHandler handler;
  private final ClientPort.Limits limits;
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
  private final Set<CompletableFuture<Response>> pending =
      Collections.newSetFromMap(new IdentityHashMap<>());
  private ChannelHandlerContext ctxOrNull;
  /** Requests decoded while paused, served in order when the pause ends. */
  private final ArrayDeque<Request> held = new ArrayDeque<>();

  ClientDispatcher(RequestHandler handler, ClientPort.Limits limits, ClientPort port) {
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
    CompletableFuture<Response> f;
    try {
      f = handler.handle(request);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Response> served = f;
    pending.add(served);
    served.whenComplete((resp, err) -> {
      Response out;
      if (err == null) {
        out = resp.toBuilder().setRequestId(id).build();
      } else if (err instanceof ClientPort.ShuttingDown) {
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
    for (var f : List.copyOf(pending)) {
      f.completeExceptionally(new ClientPort.ShuttingDown());
    }
  }

  private void complete(ChannelHandlerContext ctx, CompletableFuture<Response> served,
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
