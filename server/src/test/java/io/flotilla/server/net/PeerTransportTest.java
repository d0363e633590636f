package io.flotilla.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.Endpoint;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class PeerTransportTest {
  private static final PeerTransport.Options FAST =
      new PeerTransport.Options(1 << 20, 1024, 10, 100, 1000);

  private EventLoopGroup group;
  private final List<AutoCloseable> toClose = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    group = new NioEventLoopGroup(2);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : toClose) {
      c.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private PeerTransport transport(int port, List<Long> sink) throws InterruptedException {
    PeerTransport t = PeerTransport.start(new InetSocketAddress("127.0.0.1", port), group,
        (bytes, remote) -> sink.add(ByteBuffer.wrap(bytes).getLong()), FAST);
    toClose.add(t);
    return t;
  }

  private static byte[] frame(long n) {
    return ByteBuffer.allocate(16).putLong(n).putLong(~n).array();
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void framesArriveInOrderByHostName() throws Exception {
    List<Long> atB = new CopyOnWriteArrayList<>();
    PeerTransport a = transport(0, new CopyOnWriteArrayList<>());
    PeerTransport b = transport(0, atB);
    // "localhost", not an IP: the name is resolved when the link connects.
    a.setPeer(2, new Endpoint("localhost", b.localAddress().getPort()));
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      a.send(2, frame(-1));
      return a.connected(2);
    });
    atB.clear();
    for (long i = 0; i < 1000; i++) {
      a.send(2, frame(i));
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> atB.size() >= 1000);
    List<Long> got = atB.stream().filter(x -> x >= 0).toList();
    assertThat(got).hasSize(1000);
    for (int i = 0; i < 1000; i++) {
      assertThat(got.get(i)).isEqualTo(i);
    }
  }

  @Test
  void aPeerThatStartsLateIsReachedOnceItListens() throws Exception {
    int port = freePort();
    PeerTransport a = transport(0, new CopyOnWriteArrayList<>());
    a.setPeer(2, new Endpoint("127.0.0.1", port));
    a.send(2, frame(1)); // nobody listens yet: the link keeps retrying
    List<Long> atB = new CopyOnWriteArrayList<>();
    transport(port, atB);
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      a.send(2, frame(7));
      return atB.contains(7L);
    });
  }

  @Test
  void aRestartedPeerIsReconnected() throws Exception {
    int port = freePort();
    List<Long> first = new CopyOnWriteArrayList<>();
    PeerTransport a = transport(0, new CopyOnWriteArrayList<>());
    PeerTransport b = transport(port, first);
    a.setPeer(2, new Endpoint("127.0.0.1", port));
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      a.send(2, frame(1));
      return first.contains(1L);
    });
    b.close();
    toClose.remove(b);
    await().atMost(Duration.ofSeconds(10)).until(() -> !a.connected(2));
    List<Long> second = new CopyOnWriteArrayList<>();
    transport(port, second);
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      a.send(2, frame(2));
      return second.contains(2L);
    });
  }

  @Test
  void framesToUnknownPeersAreDroppedNotQueued() throws Exception {
    PeerTransport a = transport(0, new CopyOnWriteArrayList<>());
    a.send(99, frame(1));
    assertThat(a.framesDropped()).isEqualTo(1);
  }

  @Test
  void aBadFrameClosesOnlyItsConnection() throws Exception {
    List<Long> atB = new CopyOnWriteArrayList<>();
    PeerTransport b = transport(0, atB);
    try (RawClient junk = new RawClient(b.localAddress())) {
      junk.sendRaw(ByteBuffer.allocate(8).putInt(Integer.MAX_VALUE).putInt(1).array());
      assertThat(junk.closedByServerDiscardingInput()).isTrue();
    }
    PeerTransport a = transport(0, new CopyOnWriteArrayList<>());
    a.setPeer(2, new Endpoint("127.0.0.1", b.localAddress().getPort()));
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      a.send(2, frame(5));
      return atB.contains(5L);
    });
  }
}
