package io.flotilla.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetRequest;
import io.flotilla.client.proto.GetResult;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.PutResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ClientPortTest {
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private ClientPort port;
  private final List<CompletableFuture<Response>> parked = new ArrayList<>();
  private volatile boolean park;

  @BeforeEach
  void start() throws Exception {
    boss = new NioEventLoopGroup(1);
    workers = new NioEventLoopGroup(2);
    port = ClientPort.start(new InetSocketAddress("127.0.0.1", 0), boss, workers, this::handle,
        ClientPort.Limits.DEFAULT);
  }

  @AfterEach
  void stop() {
    port.close();
    workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    boss.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Echoes a get with the key as value; when parking, holds futures for the test to complete. */
  private CompletableFuture<Response> handle(Request r) {
    Response resp = r.hasGet()
        ? Response.newBuilder().setGet(GetResult.newBuilder().setFound(true)
            .setValue(r.getGet().getKey())).build()
        : Response.newBuilder().setPut(PutResult.getDefaultInstance()).build();
    if (!park) {
      return CompletableFuture.completedFuture(resp);
    }
    CompletableFuture<Response> f = new CompletableFuture<>();
    synchronized (parked) {
      parked.add(f);
    }
    return f.thenApply(ignored -> resp);
  }

  private static Request get(long id, String key) {
    return Request.newBuilder().setRequestId(id)
        .setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))).build();
  }

  @Test
  void manyRequestsInFlightAreAnsweredInCompletionOrderAndMatchedById() throws Exception {
    park = true;
    int n = 200;
    try (RawClient c = new RawClient(port.localAddress())) {
      for (int i = 1; i <= n; i++) {
        c.send(get(i, "k" + i));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        synchronized (parked) {
          return parked.size() == n;
        }
      });
      // Complete newest first: the server must not hold responses back to restore order.
      for (int i = n - 1; i >= 0; i--) {
        parked.get(i).complete(null);
      }
      Set<Long> seen = new HashSet<>();
      for (int i = 0; i < n; i++) {
        Response r = c.read();
        assertThat(r.getGet().getValue().toStringUtf8()).isEqualTo("k" + r.getRequestId());
        seen.add(r.getRequestId());
        if (i == 0) {
          assertThat(r.getRequestId()).isEqualTo(n);
        }
      }
      assertThat(seen).hasSize(n);
    }
  }

  @Test
  void anUndecodableFrameClosesOnlyThatConnection() throws Exception {
    try (RawClient good = new RawClient(port.localAddress());
        RawClient bad = new RawClient(port.localAddress())) {
      // Tag 0x0F: field 1 with wire type 7, which protobuf does not have.
      bad.sendRaw(new byte[] {0, 0, 0, 3, 0x0F, 1, 2});
      Response err = bad.read();
      assertThat(err.getRequestId()).isZero();
      assertThat(err.getError().getCode()).isEqualTo(Error.Code.BAD_FRAME);
      assertThat(bad.closedByServer()).isTrue();
      good.send(get(7, "still-here"));
      assertThat(good.read().getGet().getValue().toStringUtf8()).isEqualTo("still-here");
    }
  }

  @Test
  void aHugeLengthIsRefusedBeforeBufferingAndClosesTheConnection() throws Exception {
    try (RawClient bad = new RawClient(port.localAddress())) {
      bad.sendRaw(ByteBuffer.allocate(8).putInt(Integer.MAX_VALUE).putInt(0).array());
      Response err = bad.read();
      assertThat(err.getError().getCode()).isEqualTo(Error.Code.TOO_LARGE);
      assertThat(bad.closedByServer()).isTrue();
    }
    try (RawClient next = new RawClient(port.localAddress())) {
      next.send(get(1, "after"));
      assertThat(next.read().getRequestId()).isEqualTo(1);
    }
  }

  @Test
  void randomBytesNeverHurtTheServer() throws Exception {
    SplittableRandom rnd = new SplittableRandom(42);
    for (int round = 0; round < 20; round++) {
      byte[] junk = new byte[1 + rnd.nextInt(300)];
      for (int i = 0; i < junk.length; i++) {
        junk[i] = (byte) rnd.nextInt(256);
      }
      try (RawClient bad = new RawClient(port.localAddress())) {
        bad.sendRaw(junk);
        // Whatever the junk decodes to, the port stays up and serves the next client.
      }
      try (RawClient good = new RawClient(port.localAddress())) {
        good.send(get(round + 1, "r" + round));
        assertThat(good.read().getGet().getValue().toStringUtf8()).isEqualTo("r" + round);
      }
    }
  }

  @Test
  void aTruncatedFrameFromAClientThatHangsUpIsDropped() throws Exception {
    try (RawClient bad = new RawClient(port.localAddress())) {
      bad.sendRaw(new byte[] {0, 0, 0, 100, 1, 2, 3}); // promises 100 bytes, sends 3
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> port.connections() == 0);
    try (RawClient good = new RawClient(port.localAddress())) {
      good.send(get(3, "ok"));
      assertThat(good.read().getRequestId()).isEqualTo(3);
    }
  }

  @Test
  void anUnknownOpGetsUnsupportedAndTheConnectionStaysOpen() throws Exception {
    try (RawClient c = new RawClient(port.localAddress())) {
      // Field 99 is no op this server knows: it parses (protobuf keeps unknown fields) but has no op.
      byte[] body = Request.newBuilder().setRequestId(5).build().toByteArray();
      byte[] unknown = {(byte) 0x9A, 0x06, 0x00}; // field 99, length-delimited, empty
      ByteBuffer frame = ByteBuffer.allocate(4 + body.length + unknown.length)
          .putInt(body.length + unknown.length).put(body).put(unknown);
      c.sendRaw(frame.array());
      Response r = c.read();
      assertThat(r.getRequestId()).isEqualTo(5);
      assertThat(r.getError().getCode()).isEqualTo(Error.Code.UNSUPPORTED);
      c.send(Request.newBuilder().setRequestId(6).setPut(PutRequest.newBuilder()
          .setKey(ByteString.copyFromUtf8("k")).setValue(ByteString.copyFromUtf8("v"))).build());
      assertThat(c.read().getRequestId()).isEqualTo(6);
    }
  }
}
