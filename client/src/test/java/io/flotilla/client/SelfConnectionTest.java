package io.flotilla.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression test for a bug the chaos run found: with a node down, a connection to its port (in
 * the kernel's ephemeral range) can get that same port as its source port and connect to itself
 * (TCP simultaneous open). The client then read its own requests back as answers: a get echoed
 * as "not found" in under a millisecond, which the chaos history showed as stale FOLLOWER reads.
 * Such a connection must be recognised, so it is closed and nothing is sent on it.
 */
class SelfConnectionTest {
  private final EventLoopGroup group = new NioEventLoopGroup(1);

  @AfterEach
  void stop() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private Bootstrap bootstrap() {
    return new Bootstrap().group(group).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {}
        });
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void aConnectionFromAPortToItselfIsRecognised() throws Exception {
    int port = freePort();
    InetSocketAddress self = new InetSocketAddress("127.0.0.1", port);
    // Bound to the port it connects to, with nothing listening: TCP simultaneous open with itself.
    Channel ch = bootstrap().localAddress(self).connect(self).sync().channel();
    try {
      assertThat(ch.remoteAddress()).isEqualTo(ch.localAddress());
      assertThat(NodeConnection.selfConnected(ch)).isTrue();
    } finally {
      ch.close().sync();
    }
  }

  @Test
  void anOrdinaryConnectionIsNot() throws Exception {
    try (ServerSocket server = new ServerSocket(0)) {
      Channel ch = bootstrap().connect(new InetSocketAddress("127.0.0.1", server.getLocalPort()))
          .sync().channel();
      try {
        assertThat(NodeConnection.selfConnected(ch)).isFalse();
      } finally {
        ch.close().sync();
      }
    }
  }
}
