package io.flotilla.server.node;

import io.flotilla.client.tls.ClientTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/** One TLS connection by hand, for what a FlotillaClient would never do (tests only). */
final class RawTls {
  private RawTls() {}

  private interface OnHandshake {
    String apply(Channel ch, SslHandler ssl) throws Exception;
  }

  private static String connect(InetSocketAddress to, ClientTls tls, OnHandshake then) throws Exception {
    NioEventLoopGroup group = new NioEventLoopGroup(1);
    try {
      Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel c) {
              c.pipeline().addLast(tls.newHandler(c.alloc(), to.getHostString(), to.getPort()))
                  .addLast(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
                      ctx.close();
                    }
                  });
            }
          }).connect(to).sync().channel();
      SslHandler ssl = ch.pipeline().get(SslHandler.class);
      var hs = ssl.handshakeFuture().await();
      try {
        if (!hs.isSuccess()) {
          return "refused: " + hs.cause();
        }
        return then.apply(ch, ssl);
      } finally {
        ch.close().sync();
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }

  /** "ok", or "refused: WHY" when the handshake failed. */
  static String handshake(InetSocketAddress to, ClientTls tls) throws Exception {
    return connect(to, tls, (ch, ssl) -> "ok");
  }

  /** The serial number of the certificate the server presents. */
  static BigInteger serverSerial(InetSocketAddress to, ClientTls tls) throws Exception {
    String s = connect(to, tls, (ch, ssl) ->
        ((X509Certificate) ssl.engine().getSession().getPeerCertificates()[0]).getSerialNumber().toString(16));
    return s.startsWith("refused") ? BigInteger.valueOf(-1) : new BigInteger(s, 16);
  }

  /** Sends one length-prefixed frame after the handshake; true if the server then closes the connection. */
  static boolean sendAndAwaitClose(InetSocketAddress to, ClientTls tls, byte[] frame) throws Exception {
    String s = connect(to, tls, (ch, ssl) -> {
      ch.writeAndFlush(Unpooled.buffer().writeInt(frame.length).writeBytes(frame)).sync();
      return ch.closeFuture().await(10, TimeUnit.SECONDS) ? "closed" : "open";
    });
    return s.equals("closed");
  }

  /** A TLS server with {@code m}'s certificate that accepts any client and answers nothing. */
  static Server serve(io.flotilla.client.tls.TlsMaterial m) throws Exception {
    var loaded = m.current();
    var ctx = io.netty.handler.ssl.SslContextBuilder.forServer(loaded.key(), loaded.chain())
        .sslProvider(io.netty.handler.ssl.SslProvider.JDK).protocols(ClientTls.PROTOCOLS).build();
    NioEventLoopGroup group = new NioEventLoopGroup(1);
    Channel server = new io.netty.bootstrap.ServerBootstrap().group(group)
        .channel(io.netty.channel.socket.nio.NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel c) {
            c.pipeline().addLast(ctx.newHandler(c.alloc()));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    return new Server(server, group);
  }

  record Server(Channel channel, NioEventLoopGroup group) implements AutoCloseable {
    int port() {
      return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() throws Exception {
      channel.close().sync();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
  }
}
