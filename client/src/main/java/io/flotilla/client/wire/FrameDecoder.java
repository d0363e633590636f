package io.flotilla.client.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splits a byte stream into frames ({@link Frames}: a 4-byte big-endian length, then the body)
 * and passes each body on as a {@link ByteBuf}, without the length.
 *
 * <p>Why not Netty's {@code LengthFieldBasedFrameDecoder}: it keeps an incomplete frame in a
 * cumulation buffer taken from the pooled direct allocator, which grows by doubling; a thousand
 * connections that each announced 2 MiB and sent all but two bytes held 4 MiB chunks of direct
 * memory each, and the node spent its network thread on {@code OutOfMemoryError}s (issue 14,
 * item 4). Here:
 * <ul>
 *   <li>a frame that arrives whole within one read is passed on as a slice of that read (no
 *       copy, nothing buffered: the common case);</li>
 *   <li>an incomplete frame is copied to the heap as its bytes arrive (never allocated up front
 *       at its announced length) and every byte held is reserved from an {@link InputBudget}
 *       shared by all connections of the port; a reservation the budget refuses closes this
 *       connection with {@link BudgetExceededException}. The socket's read buffer goes back to
 *       the pool at once, so an idle half-sent connection holds no direct memory;</li>
 *   <li>a frame announced larger than the limit fails at once ({@link TooLongFrameException});
 *       one connection never holds more than one frame, so the limit is also its own budget;</li>
 *   <li>a frame started more than the frame timeout ago and still incomplete fails with
 *       {@link FrameTimeoutException}: slow or stalled senders give their bytes back.</li>
 * </ul>
 * The errors go down the pipeline as {@code exceptionCaught}; after one, input is discarded.
 */
public final class FrameDecoder extends ChannelInboundHandlerAdapter {
  /** The port's budget for incomplete input is used up; this connection is the one refused. */
  public static final class BudgetExceededException extends DecoderException {
    private static final long serialVersionUID = 1L;

    BudgetExceededException(String message) {
      super(message);
    }
  }

  /** A frame did not arrive whole within the frame timeout. */
  public static final class FrameTimeoutException extends DecoderException {
    private static final long serialVersionUID = 1L;

    FrameTimeoutException(String message) {
      super(message);
    }
  }

  /** First buffer for an incomplete body; grows by doubling up to the announced length. */
  private static final int FIRST_CHUNK = 4096;

  private final int maxFrameBytes;
  private final InputBudget budget;
  private final long frameTimeoutNanos;
  // The frame being read (only touched on the channel's event loop):
  private int headerHave;
  private int length;
  private byte[] body;
  private int bodyHave;
  private long frameStartNanos;
  private ScheduledFuture<?> timer;
  private boolean failed;

  /**
   * @param maxFrameBytes   largest body accepted
   * @param budget          shared by the connections of one port
   * @param frameTimeoutMs  an incomplete frame older than this fails; 0: no timeout
   */
  public FrameDecoder(int maxFrameBytes, InputBudget budget, long frameTimeoutMs) {
    if (maxFrameBytes <= 0 || frameTimeoutMs < 0) {
      throw new IllegalArgumentException("bad limits: " + maxFrameBytes + ", " + frameTimeoutMs);
    }
    this.maxFrameBytes = maxFrameBytes;
    this.budget = budget;
    this.frameTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(frameTimeoutMs);
  }

  /** Bytes of the incomplete frame this connection holds now (tests, diagnostics). */
  public int bufferedBytes() {
    return body == null ? 0 : body.length;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      while (in.isReadable() && !failed) {
        if (headerHave == 0 && in.readableBytes() >= Frames.LENGTH_BYTES) {
          // Fast path: the whole frame is in this read.
          long len = in.getUnsignedInt(in.readerIndex());
          if (!checkLength(ctx, len)) {
            return;
          }
          if (in.readableBytes() - Frames.LENGTH_BYTES >= len) {
            in.skipBytes(Frames.LENGTH_BYTES);
            ctx.fireChannelRead(in.readRetainedSlice((int) len));
            continue;
          }
        }
        if (headerHave < Frames.LENGTH_BYTES) {
          if (headerHave == 0) {
            frameStartNanos = System.nanoTime();
          }
          while (headerHave < Frames.LENGTH_BYTES && in.isReadable()) {
            length = (length << 8) | in.readUnsignedByte();
            headerHave++;
          }
          if (headerHave < Frames.LENGTH_BYTES || !checkLength(ctx, length & 0xFFFFFFFFL)) {
            continue; // header still incomplete (the loop ends), or failed
          }
        }
        int need = length - bodyHave;
        if (body == null && in.readableBytes() >= need) {
          ByteBuf frame = in.readRetainedSlice(need);
          reset();
          ctx.fireChannelRead(frame);
          continue;
        }
        int take = Math.min(need, in.readableBytes());
        if (take == 0) {
          break; // the body starts in a later read
        }
        if (!ensureCapacity(ctx, bodyHave + take)) {
          return;
        }
        in.readBytes(body, bodyHave, take);
        bodyHave += take;
        if (bodyHave == length) {
          byte[] whole = body;
          budget.release(whole.length);
          reset();
          ctx.fireChannelRead(Unpooled.wrappedBuffer(whole));
        }
      }
    } finally {
      in.release();
    }
    if (headerHave > 0 && !failed && timer == null && frameTimeoutNanos > 0) {
      armTimer(ctx, frameTimeoutNanos - (System.nanoTime() - frameStartNanos));
    }
  }

  private boolean checkLength(ChannelHandlerContext ctx, long len) {
    if (len > maxFrameBytes) {
      fail(ctx, new TooLongFrameException("frame of " + len + " bytes is larger than "
          + maxFrameBytes));
      return false;
    }
    return true;
  }

  /** Makes room for {@code needed} body bytes, reserving what grows from the budget. */
  private boolean ensureCapacity(ChannelHandlerContext ctx, int needed) {
    int cap = body == null ? 0 : body.length;
    if (needed <= cap) {
      return true;
    }
    int grown = (int) Math.min(length, Math.max(needed, Math.max(FIRST_CHUNK, 2L * cap)));
    if (!budget.tryReserve(grown - cap)) {
      fail(ctx, new BudgetExceededException("the port's buffer for incomplete frames ("
          + budget.maxBytes() + " bytes) is full; this connection's frame of " + length
          + " bytes does not fit"));
      return false;
    }
    byte[] bigger = new byte[grown];
    if (body != null) {
      System.arraycopy(body, 0, bigger, 0, bodyHave);
    }
    body = bigger;
    return true;
  }

  private void armTimer(ChannelHandlerContext ctx, long delayNanos) {
    timer = ctx.executor().schedule(() -> {
      timer = null;
      if (failed || headerHave == 0) {
        return;
      }
      long age = System.nanoTime() - frameStartNanos;
      if (age >= frameTimeoutNanos) {
        fail(ctx, new FrameTimeoutException("incomplete frame: " + (headerHave < Frames.LENGTH_BYTES
            ? headerHave + " of 4 length bytes" : bodyHave + " of " + length + " bytes")
            + " after " + TimeUnit.NANOSECONDS.toMillis(age) + " ms"));
      } else {
        armTimer(ctx, frameTimeoutNanos - age); // another frame started since
      }
    }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
  }

  private void fail(ChannelHandlerContext ctx, DecoderException e) {
    failed = true;
    releaseAll();
    ctx.fireExceptionCaught(e);
  }

  private void reset() {
    headerHave = 0;
    length = 0;
    body = null;
    bodyHave = 0;
  }

  private void releaseAll() {
    if (body != null) {
      budget.release(body.length);
    }
    reset();
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    releaseAll();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseAll();
  }
}
