package io.flotilla.client.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A name lookup that hangs (a stopped container's name behind Docker's embedded DNS: 20 s) must
 * hold only the connect that needs it, never the event loop its other connections run on. Rerun:
 * {@code ./mvnw -q -B -pl client -am test -Dtest=OffLoopResolverTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class OffLoopResolverTest {
  private final EventLoopGroup oneLoop = new NioEventLoopGroup(1);
  private final CountDownLatch slowLookupMayEnd = new CountDownLatch(1);
  private final OffLoopResolver resolver = new OffLoopResolver(host -> {
    if (host.equals("stopped-container.test")) {
      try {
        slowLookupMayEnd.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new UnknownHostException(host);
    }
    if (host.equals("live.test")) {
      return new InetAddress[] {InetAddress.getLoopbackAddress()};
    }
    throw new UnknownHostException(host);
  });

  @AfterEach
  void stop() {
    slowLookupMayEnd.countDown();
    resolver.close();
    oneLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private ChannelFuture connect(String host, int port) {
    return new Bootstrap().group(oneLoop).channel(NioSocketChannel.class).resolver(resolver)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {}
        })
        .connect(InetSocketAddress.createUnresolved(host, port));
  }

  @Test
  void aHangingLookupDoesNotHoldOtherConnectsOnTheSameLoop() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      int port = server.getLocalPort();
      ChannelFuture stuck = connect("stopped-container.test", port);
      ChannelFuture live = connect("live.test", port);
      // With lookups on the loop, the second connect would wait behind the first lookup forever.
      assertThat(live.await(10, TimeUnit.SECONDS)).as("the live name's connect finished").isTrue();
      assertThat(live.isSuccess()).as("connected: %s", live.cause()).isTrue();
      assertThat(stuck.isDone()).as("the hanging lookup's connect is still waiting").isFalse();
      live.channel().close().sync();

      slowLookupMayEnd.countDown();
      assertThat(stuck.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(stuck.cause()).isInstanceOf(UnknownHostException.class);
    }
  }

  @Test
  void anUnknownNameFailsTheConnectWithUnknownHost() throws Exception {
    ChannelFuture f = connect("nowhere.test", 7000);
    assertThat(f.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(f.cause()).isInstanceOf(UnknownHostException.class)
        .hasMessageContaining("nowhere.test");
  }
}
