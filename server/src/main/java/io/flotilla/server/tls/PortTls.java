package io.flotilla.server.tls;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS on one listening port: the first handler of every accepted connection, made from the
 * port's current context (so a reloaded certificate serves new connections), and a watch that
 * counts and logs refused handshakes ({@code flotilla_tls_handshake_failures_total{port}}). A
 * refused handshake closes that connection only; the port and every other connection go on.
 * {@link #NONE}: plain text.
 */
public final class PortTls {
  private static final Logger LOG = LoggerFactory.getLogger(PortTls.class);
  public static final PortTls NONE = new PortTls("none", null, null, null);

  private final String port;
  private final Supplier<SslContext> contexts;
  private final Counter failures;
  /**
   * Written in plain text, before closing, to a peer that spoke plain text on this port: a
   * plain-text client then learns why instead of seeing a closed connection (null: nothing).
   */
  private final byte[] plainTextAnswer;
  /** A scan of a TLS port by plain-text clients must not flood the log: 10 lines a second at most. */
  private final java.util.concurrent.atomic.AtomicLong nextLogNanos = new java.util.concurrent.atomic.AtomicLong();
  private static final long LOG_EVERY_NANOS = 100_000_000L;

  private PortTls(String port, Supplier<SslContext> contexts, Counter failures, byte[] plainTextAnswer) {
    this.plainTextAnswer = plainTextAnswer;
    this.port = port;
    this.contexts = contexts;
    this.failures = failures;
  }

  /** TLS on port {@code port} ("client", "peer", "admin") with contexts from {@code contexts}. */
  public static PortTls of(String port, Supplier<SslContext> contexts, MeterRegistry registry) {
    return new PortTls(port, contexts, Counter.builder("flotilla.tls.handshake.failures").tag("port", port)
        .description("TLS handshakes refused on a port (plain text, unknown CA, expired, wrong role)")
        .register(registry), null);
  }

  /** The same port answering a plain-text peer with {@code frame} (already framed) before closing. */
  public PortTls withPlainTextAnswer(byte[] frame) {
    return new PortTls(port, contexts, failures, frame.clone());
  }

  public boolean enabled() {
    return contexts != null;
  }

  /** Puts TLS first on an accepted connection (nothing when plain text). */
  public void install(SocketChannel ch) {
    if (contexts == null) {
      return;
    }
    SslHandler ssl = contexts.get().newHandler(ch.alloc());
    ch.pipeline().addFirst("tls-watch", new Watch()).addFirst("tls", ssl);
  }

  /** Refused handshakes: counted, logged at a bounded rate with the reason, the connection closed. */
  private final class Watch extends ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof SslHandshakeCompletionEvent done) {
        if (done.isSuccess()) {
          ctx.pipeline().remove(this); // one event per connection; no cost per frame after it
        } else if (rootCause(done.cause()) instanceof java.nio.channels.ClosedChannelException) {
          // The other end hung up mid-handshake (a client's own timeout, a port scan): nothing refused.
          LOG.debug("{} port: {} closed during the TLS handshake", port, ctx.channel().remoteAddress());
          ctx.close();
          return;
        } else {
          failures.increment();
          long now = System.nanoTime();
          long next = nextLogNanos.get();
          if (now - next >= 0 && nextLogNanos.compareAndSet(next, now + LOG_EVERY_NANOS)) {
            LOG.warn("{} port: refused TLS handshake from {}: {}", port, ctx.channel().remoteAddress(),
                reason(done.cause()));
          }
          if (plainTextAnswer != null && rootCause(done.cause()) instanceof NotSslRecordException
              && ctx.pipeline().get("tls") != null) {
            // Out of TLS's way, then the answer raw: the plain-text peer can read it.
            ctx.pipeline().remove("tls");
            ctx.writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(plainTextAnswer))
                .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            return;
          }
          ctx.close();
          return;
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // The handshake's own failure is reported by its event above; anything here is the same
      // failure surfacing again (a decode error), so close quietly.
      if (cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() instanceof javax.net.ssl.SSLException
          || cause instanceof NotSslRecordException) {
        ctx.close();
        return;
      }
      ctx.fireExceptionCaught(cause);
    }
  }

  /** The innermost message of a handshake failure, with a word on the usual causes. */
  public static String reasonOf(Throwable cause) {
    return reason(cause);
  }

  private static Throwable rootCause(Throwable cause) {
    Throwable t = cause;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  static String reason(Throwable cause) {
    Throwable t = rootCause(cause);
    if (t instanceof NotSslRecordException) {
      return "not TLS (a plain-text client on a TLS port)";
    }
    for (Throwable c = cause; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof java.security.cert.CertificateExpiredException) {
        return "the certificate presented has expired (" + c.getMessage() + ")";
      }
      if (c instanceof java.security.cert.CertificateNotYetValidException) {
        return "the certificate presented is not valid yet (" + c.getMessage() + "): check the clocks";
      }
    }
    for (Throwable c = cause; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof java.security.cert.CertPathValidatorException
          || c instanceof java.security.cert.CertPathBuilderException) {
        return "the certificate presented is not issued by this cluster's CA (" + c.getMessage() + ")";
      }
    }
    if (String.valueOf(t.getMessage()).contains("Empty client certificate chain")) {
      // A JDK client sends no certificate when its CA is not one the server names: so this is
      // also what a certificate from another CA looks like.
      return "no certificate presented, or one not issued by this cluster's CA (every TLS port but admin requires one)";
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }
}
