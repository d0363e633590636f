package io.flotilla.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetRequest;
import io.flotilla.client.proto.GetResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What one client can hold of a node (issue 14, items 4 and 5): incomplete input within a shared
 * budget, frames and idle connections within timeouts, connections within a limit, and output
 * within a high-water mark. Each test drives a real port over loopback with raw sockets.
 */
class ClientPortLimitsTest {
  private static final int MiB = 1 << 20;
  private EventLoopGroup group;
  private ClientPort port;
  private final AtomicInteger handled = new AtomicInteger();
  private volatile int answerBytes = 16;

  private void start(ClientPort.Limits limits) throws Exception {
    group = new NioEventLoopGroup(2);
    port = ClientPort.start(new InetSocketAddress("127.0.0.1", 0), group, group, this::handle,
        limits);
  }

  @AfterEach
  void stop() {
    if (port != null) {
      port.closeAllConnections();
      port.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Answers a get with {@link #answerBytes} bytes of value. */
  private CompletableFuture<Response> handle(Request r) {
    handled.incrementAndGet();
    return CompletableFuture.completedFuture(Response.newBuilder().setGet(GetResult.newBuilder()
        .setFound(true).setValue(ByteString.copyFrom(new byte[answerBytes]))).build());
  }

  private static Request get(long id) {
    return Request.newBuilder().setRequestId(id)
        .setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))).build();
  }

  /** A 2 MiB length and all but two bytes of the body: the attack of issue 14, item 4. */
  private static byte[] halfSentFrame(int announced) {
    return ByteBuffer.allocate(4 + announced - 2).putInt(announced).array();
  }

  @Test
  void halfSentFramesPastTheBudgetCloseTheConnectionsThatWouldPassIt() throws Exception {
    start(ClientPort.Limits.DEFAULT.with(1000, 8L * MiB, 60_000, 0));
    List<RawClient> attackers = new ArrayList<>();
    try {
      for (int i = 0; i < 12; i++) {
        RawClient a = new RawClient(port.localAddress());
        attackers.add(a);
        try {
          a.sendRaw(halfSentFrame(2 * MiB));
        } catch (java.io.IOException closedWhileSending) {
          // refused part-way: fine
        }
      }
      // 12 x 2 MiB cannot fit into 8 MiB: at least 8 connections were closed for it.
      await().atMost(Duration.ofSeconds(30)).until(() -> port.connectionsClosedForInput() >= 8);
      assertThat(port.bufferedInputBytes()).isLessThanOrEqualTo(8L * MiB);
      for (RawClient a : attackers) {
        // Each closed one was told why, unless the reset of its unread input overtook the answer.
        Response r = a.readOrNull();
        if (r != null) {
          assertThat(r.getRequestId()).isZero();
          assertThat(r.getError().getCode()).isEqualTo(Error.Code.UNAVAILABLE);
          assertThat(r.getError().getMessage()).contains("incomplete frames");
        }
      }
      // A well-behaved client is served meanwhile: its frames arrive whole, nothing is buffered.
      try (RawClient good = new RawClient(port.localAddress())) {
        good.send(get(1));
        assertThat(good.read().getRequestId()).isEqualTo(1);
      }
    } finally {
      for (RawClient a : attackers) {
        a.close();
      }
    }
    // Their bytes go back to the budget when they close.
    await().atMost(Duration.ofSeconds(20)).until(() -> port.bufferedInputBytes() == 0);
  }

  @Test
  void aFrameThatNeverCompletesClosesItsConnectionAfterTheFrameTimeout() throws Exception {
    start(ClientPort.Limits.DEFAULT.with(1000, 64L * MiB, 300, 0));
    try (RawClient slow = new RawClient(port.localAddress())) {
      slow.sendRaw(new byte[] {0, 0, 0, 100, 1, 2, 3}); // promises 100 bytes, sends 3, stays
      Response r = slow.read();
      assertThat(r.getRequestId()).isZero();
      assertThat(r.getError().getCode()).isEqualTo(Error.Code.BAD_FRAME);
      assertThat(r.getError().getMessage()).contains("incomplete frame").contains("3 of 100 bytes");
      assertThat(slow.closedByServer()).isTrue();
    }
    assertThat(port.bufferedInputBytes()).isZero();
  }

  @Test
  void connectionsPastTheLimitAreRefusedWithUnavailable() throws Exception {
    start(ClientPort.Limits.DEFAULT.with(3, 64L * MiB, 10_000, 0));
    List<RawClient> open = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        RawClient c = new RawClient(port.localAddress());
        open.add(c);
        c.send(get(i + 1));
        assertThat(c.read().getRequestId()).isEqualTo(i + 1);
      }
      try (RawClient extra = new RawClient(port.localAddress())) {
        extra.send(get(99)); // never read by the server
        Response r = extra.read();
        assertThat(r.getRequestId()).isZero();
        assertThat(r.getError().getCode()).isEqualTo(Error.Code.UNAVAILABLE);
        assertThat(r.getError().getMessage()).contains("too many connections");
        assertThat(extra.closedByServer()).isTrue();
      }
      assertThat(port.connectionsRefused()).isEqualTo(1);
      assertThat(handled.get()).isEqualTo(3);
      open.remove(0).close();
      await().atMost(Duration.ofSeconds(10)).until(() -> port.connections() == 2);
      try (RawClient again = new RawClient(port.localAddress())) {
        again.send(get(7));
        assertThat(again.read().getRequestId()).isEqualTo(7);
      }
    } finally {
      for (RawClient c : open) {
        c.close();
      }
    }
  }

  @Test
  void anIdleConnectionIsClosedButOneWithWorkIsNot() throws Exception {
    start(ClientPort.Limits.DEFAULT.with(1000, 64L * MiB, 10_000, 300));
    try (RawClient idle = new RawClient(port.localAddress())) {
      idle.send(get(1));
      assertThat(idle.read().getRequestId()).isEqualTo(1);
      assertThat(idle.closedByServer()).isTrue(); // after 300 ms with nothing to do
    }
    assertThat(port.connectionsClosedIdle()).isEqualTo(1);
  }

  /**
   * Item 5: a client pipelines requests for large answers and never reads them. The port stops
   * reading it once the unsent answers pass the high-water mark, holds the requests it already
   * read, and serves them all once the client reads: output stays within the mark plus one answer.
   */
  @Test
  void aClientThatPipelinesAndNeverReadsStopsBeingRead() throws Exception {
    int high = 256 << 10;
    start(ClientPort.Limits.DEFAULT.withWriteWaterMarks(64 << 10, high));
    answerBytes = 64 << 10;
    int requests = 2000; // 125 MiB of answers: far more than the kernel's socket buffers
    try (RawClient c = new RawClient(port.localAddress())) {
      java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
      for (int i = 1; i <= requests; i++) {
        byte[] body = get(i).toByteArray();
        all.write(ByteBuffer.allocate(4).putInt(body.length).array());
        all.write(body);
      }
      c.sendRaw(all.toByteArray()); // 30 KB: fits the socket buffers, never blocks
      await().atMost(Duration.ofSeconds(30)).until(() -> port.outputPauses() >= 1);
      long pending = port.pendingOutputBytes();
      assertThat(pending).as("unsent answers").isLessThanOrEqualTo(high + 2L * (answerBytes + 64));
      assertThat(handled.get()).as("requests served while the client does not read")
          .isLessThan(requests);
      // Once the client reads, every request is answered, in full.
      for (int i = 0; i < requests; i++) {
        assertThat(c.read().getGet().getValue().size()).isEqualTo(answerBytes);
      }
      assertThat(handled.get()).isEqualTo(requests);
    }
  }
}
