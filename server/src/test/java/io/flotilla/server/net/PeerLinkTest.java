package io.flotilla.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.Endpoint;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Peer links under a peer that stops reading (issue 14, item 5) and a path that goes silent
 * (item 7). The "frozen follower" is a socket that is accepted by the kernel and never read, as
 * a SIGSTOPped process's is; the silent path is a {@link BlackholeProxy}.
 */
class PeerLinkTest {
  private static final int KiB = 1 << 10;
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

  /** Small queues and water marks; {@code deadAfter} decides how long silence is tolerated. */
  private static PeerTransport.Options options(long deadAfterMillis) {
    return new PeerTransport.Options(1 << 20, 256, 256L * KiB, 10, 100, 1000, 50,
        deadAfterMillis, 8L << 20, 30_000, 64, 64 * KiB, 256 * KiB);
  }

  private PeerTransport transport(PeerTransport.Options o, List<byte[]> sink) throws Exception {
    PeerTransport t = PeerTransport.start(new InetSocketAddress("127.0.0.1", 0), group,
        (bytes, from) -> sink.add(bytes), o);
    toClose.add(t);
    return t;
  }

  /** A socket the kernel accepts and nobody reads: a frozen but connected peer. */
  private ServerSocket frozenPeer(List<Socket> keep) throws Exception {
    ServerSocket s = new ServerSocket();
    // A fixed small receive buffer (no autotuning, which may grow to tens of MiB): with the
    // sender's at most 4 MiB, the kernel holds a known few MiB of what nobody reads.
    s.setReceiveBufferSize(64 * KiB);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    toClose.add(s);
    Thread t = new Thread(() -> {
      try {
        while (true) {
          keep.add(s.accept()); // held open, never read
        }
      } catch (java.io.IOException closed) {
        // test over
      }
    });
    t.setDaemon(true);
    t.start();
    toClose.add(() -> {
      for (Socket k : keep) {
        k.close();
      }
    });
    return s;
  }

  private static byte[] frame(int bytes, int tag) {
    return ByteBuffer.allocate(bytes).putInt(tag).array();
  }

  private static List<byte[]> snapshot(int chunks, int chunkBytes) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      out.add(frame(chunkBytes, i));
    }
    return out;
  }

  @Test
  void aFrozenPeerCostsBoundedMemory() throws Exception {
    PeerTransport.Options o = options(600_000); // silence is tolerated here: memory is the point
    PeerTransport a = transport(o, new CopyOnWriteArrayList<>());
    List<Socket> held = new CopyOnWriteArrayList<>();
    ServerSocket frozen = frozenPeer(held);
    a.setPeer(2, new Endpoint("127.0.0.1", frozen.getLocalPort()));
    a.send(2, frame(16, -1)); // links connect when they have something to send
    await().atMost(Duration.ofSeconds(10)).until(() -> !held.isEmpty());
    // A 16 MiB snapshot: more than the kernel's buffers hold, so it stays in flight while the
    // peer does not read. The leader times out and sends another, and another.
    assertThat(a.sendSnapshot(2, () -> snapshot(64, 256 * KiB))).isTrue();
    AtomicInteger made = new AtomicInteger();
    assertThat(a.sendSnapshot(2, () -> {
      made.incrementAndGet();
      return snapshot(64, 256 * KiB);
    })).isFalse();
    assertThat(a.sendSnapshot(2, () -> snapshot(64, 256 * KiB))).isFalse();
    assertThat(made.get()).as("a refused snapshot is not even encoded").isZero();
    assertThat(a.snapshotsRefused()).isEqualTo(2);
    // Heartbeats every "tick" and a stream of entries: 100 MiB that the peer never takes.
    for (int i = 0; i < 20_000; i++) {
      a.send(2, PeerFrameKind.HEARTBEAT, frame(KiB, i));
      a.send(2, PeerFrameKind.OTHER, frame(4 * KiB, i));
    }
    // What waits for the peer stays bounded: the socket's high-water mark and the frame that
    // crossed it (and pings), one heartbeat, the queue's bytes, and one snapshot.
    long bound = 256 * KiB + 256 * KiB + KiB + 256 * KiB + 64 * 256 * KiB;
    await().atMost(Duration.ofSeconds(10)).until(() -> a.framesDropped() > 0);
    assertThat(a.queuedBytes(2)).isLessThanOrEqualTo(bound);
    assertThat(a.heartbeatsCoalesced()).as("heartbeats replaced while waiting").isPositive();
    assertThat(a.snapshotInFlight(2)).isTrue();
  }

  @Test
  void aSilentPathIsNoticedRedialledAndReportedOncePerTransition() throws Exception {
    List<byte[]> atB = new CopyOnWriteArrayList<>();
    PeerTransport b = transport(options(400), atB);
    PeerTransport a = transport(options(400), new CopyOnWriteArrayList<>());
    List<String> events = new CopyOnWriteArrayList<>();
    a.addListener(new PeerTransport.Listener() {
      @Override
      public void linkUp(long peer) {
        events.add("up " + peer);
      }

      @Override
      public void linkLost(long peer) {
        events.add("lost " + peer);
      }

      @Override
      public void linkRestored(long peer) {
        events.add("restored " + peer);
      }
    });
    BlackholeProxy path = new BlackholeProxy(b.localAddress());
    toClose.add(path);
    a.setPeer(2, new Endpoint("127.0.0.1", path.port()));
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      a.send(2, frame(16, 1));
      return a.connected(2) && !atB.isEmpty();
    });
    // The network starts dropping everything, silently: TCP on its own would not notice.
    path.blackhole = true;
    await().atMost(Duration.ofSeconds(20)).until(() -> events.contains("lost 2"));
    assertThat(a.connected(2)).isFalse();
    // Meanwhile the link redials (each connect reaches the relay, none is answered).
    int acceptedBefore = path.accepted.get();
    await().atMost(Duration.ofSeconds(20)).until(() -> path.accepted.get() >= acceptedBefore + 2);
    path.blackhole = false;
    atB.clear();
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      a.send(2, frame(16, 2));
      return a.connected(2) && !atB.isEmpty();
    });
    assertThat(events).containsExactly("up 2", "lost 2", "restored 2");
  }

  @Test
  void aSnapshotCutOffWithItsConnectionIsReportedAndTheNextOneGoes() throws Exception {
    PeerTransport a = transport(options(300), new CopyOnWriteArrayList<>());
    List<Long> aborted = new CopyOnWriteArrayList<>();
    a.addListener(new PeerTransport.Listener() {
      @Override
      public void snapshotAborted(long peer) {
        aborted.add(peer);
      }
    });
    List<Socket> held = new CopyOnWriteArrayList<>();
    ServerSocket frozen = frozenPeer(held);
    a.setPeer(2, new Endpoint("127.0.0.1", frozen.getLocalPort()));
    // 32 MiB: more than the socket buffers take, so it is still being written when the link,
    // hearing nothing back, closes the connection.
    assertThat(a.sendSnapshot(2, () -> snapshot(128, 256 * KiB))).isTrue();
    await().atMost(Duration.ofSeconds(20)).until(() -> aborted.contains(2L));
    assertThat(aborted).containsExactly(2L);
    assertThat(a.snapshotInFlight(2)).isFalse();
    assertThat(a.sendSnapshot(2, () -> snapshot(2, KiB))).isTrue();
  }

  @Test
  void aHeartbeatReplacesOnlyAnUnsentOneOfItsOwnGroup() throws Exception {
    PeerTransport.Options o = options(600_000);
    PeerTransport a = transport(o, new CopyOnWriteArrayList<>());
    List<byte[]> received = new CopyOnWriteArrayList<>();
    // The peer is not listening yet: every heartbeat waits in the link while it dials.
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    a.setPeer(2, new Endpoint("127.0.0.1", port));
    for (int tick = 0; tick < 5; tick++) {
      for (int g = 1; g <= 3; g++) {
        a.send(2, PeerFrameKind.HEARTBEAT, g, frame(16, g * 100 + tick));
      }
    }
    PeerTransport b = PeerTransport.start(new InetSocketAddress("127.0.0.1", port), group,
        (bytes, from) -> received.add(bytes), o);
    toClose.add(b);
    // Three groups, five ticks each: each group's newest heartbeat arrives, and only that one.
    await().atMost(Duration.ofSeconds(20)).until(() -> received.size() >= 3);
    List<Integer> tags = received.stream().map(f -> ByteBuffer.wrap(f).getInt()).sorted().toList();
    assertThat(tags).containsExactly(104, 204, 304);
    assertThat(a.heartbeatsCoalesced()).isEqualTo(12);
  }
}
