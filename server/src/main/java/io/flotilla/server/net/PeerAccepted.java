package io.flotilla.server.net;

import io.flotilla.client.wire.Frames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The accepting side of the peer port ({@link PeerTransport}): the handlers of each accepted
 * connection, after TLS when it is on.
 */
final class PeerAccepted {
  private static final Logger LOG = LoggerFactory.getLogger(PeerTransport.class);

  private PeerAccepted() {}

  /**
   * First on an accepted connection: whenever bytes arrive, answer with an empty frame (at most
   * every half ping interval), so the dialling side knows this path works and that we read.
   */
  static final class Ponger extends ChannelInboundHandlerAdapter {
    private final long everyNanos;
    private long lastPong;

    Ponger(PeerTransport.Options options) {
      this.everyNanos = TimeUnit.MILLISECONDS.toNanos(options.pingIntervalMillis()) / 2;
      this.lastPong = System.nanoTime() - everyNanos;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      long now = System.nanoTime();
      if (now - lastPong >= everyNanos && ctx.channel().isWritable()) {
        lastPong = now;
        ctx.writeAndFlush(ctx.alloc().buffer(Frames.LENGTH_BYTES).writeInt(0), ctx.voidPromise());
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Incoming side: frames from any peer go to the consumer; bad input closes that connection. */
  static final class Receiver extends SimpleChannelInboundHandler<ByteBuf> {
    private final PeerTransport t;
    private final PeerTransport.Options options;
    private boolean counted;
    /** The node the connection's certificate names; 0 in plain text; -1 until the first frame. */
    private long certified = -1;

    Receiver(PeerTransport t) {
      this.t = t;
      this.options = t.options();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      if (t.closed) {
        ctx.close();
        return;
      }
      if (t.acceptedCount.incrementAndGet() > options.maxConnections()) {
        t.acceptedCount.decrementAndGet();
        LOG.warn("refusing peer connection {}: {} open", ctx.channel().remoteAddress(),
            options.maxConnections());
        ctx.close();
        return;
      }
      counted = true;
      t.accepted.add(ctx.channel());
      super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (counted) {
        t.acceptedCount.decrementAndGet();
      }
      super.channelInactive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
      if (!frame.isReadable()) {
        return; // a ping: the Ponger answered it
      }
      byte[] bytes = ByteBufUtil.getBytes(frame);
      if (certified < 0) {
        // Data arrives only after the handshake, so the session's certificate is known here.
        certified = PeerCertificates.certifiedNode(ctx.channel());
        if (certified == -2) {
          LOG.warn("closing peer connection {}: cannot read its certificate: {}", ctx.channel().remoteAddress(),
              PeerCertificates.describe(ctx.channel()));
          ctx.close();
          return;
        }
      }
      try {
        t.inbound.accept(bytes, ctx.channel().remoteAddress(), certified);
      } catch (PeerIdentityMismatch e) {
        t.identityRefused.incrementAndGet();
        LOG.error("refusing peer connection {}: {}", ctx.channel().remoteAddress(), e.getMessage());
        ctx.close();
      } catch (RuntimeException e) {
        // An undecodable message is the sender's problem, not ours: drop its connection.
        LOG.warn("closing peer connection {}: bad frame: {}", ctx.channel().remoteAddress(),
            e.toString());
        ctx.close();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof IdleStateEvent) {
        // A live peer pings every interval: this connection's sender is gone (or cut off).
        LOG.debug("closing silent peer connection {}", ctx.channel().remoteAddress());
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.warn("closing peer connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
