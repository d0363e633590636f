package io.flotilla.client.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.TooLongFrameException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The frame decoder: frames whole however the stream is cut, and bounded buffering. */
class FrameDecoderTest {
  private static final long SEED = Long.getLong("flotilla.seed", 20261202L);

  /** Collects decoded bodies and the first error. */
  private static final class Sink extends ChannelInboundHandlerAdapter {
    final List<byte[]> frames = new ArrayList<>();
    Throwable error;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      byte[] out = new byte[b.readableBytes()];
      b.readBytes(out);
      b.release();
      frames.add(out);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (error == null) {
        error = cause;
      }
    }
  }

  private static byte[] frame(byte[] body) {
    return ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
  }

  @Test
  void framesComeOutWholeHoweverTheStreamIsCut() {
    SplittableRandom rnd = new SplittableRandom(SEED);
    for (int round = 0; round < 200; round++) {
      List<byte[]> bodies = new ArrayList<>();
      ByteArrayOutputStream stream = new ByteArrayOutputStream();
      for (int i = 0; i < 1 + rnd.nextInt(20); i++) {
        byte[] body = new byte[rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(20_000)];
        rnd.nextBytes(body);
        bodies.add(body);
        stream.writeBytes(frame(body));
      }
      InputBudget budget = new InputBudget(1 << 20);
      Sink sink = new Sink();
      EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(64 << 10, budget, 0), sink);
      byte[] all = stream.toByteArray();
      for (int at = 0; at < all.length; ) {
        int n = Math.min(all.length - at, 1 + rnd.nextInt(rnd.nextBoolean() ? 7 : 30_000));
        ch.writeInbound(Unpooled.copiedBuffer(all, at, n));
        at += n;
      }
      assertThat(sink.error).as("seed %d round %d (rerun with -Dflotilla.seed=%d)", SEED, round, SEED)
          .isNull();
      assertThat(sink.frames).as("seed %d round %d", SEED, round).hasSize(bodies.size());
      for (int i = 0; i < bodies.size(); i++) {
        assertThat(sink.frames.get(i)).isEqualTo(bodies.get(i));
      }
      assertThat(budget.used()).isZero();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void anAnnouncedLengthIsNotAllocatedUpFront() {
    InputBudget budget = new InputBudget(64L << 20);
    FrameDecoder decoder = new FrameDecoder(2 << 20, budget, 0);
    EmbeddedChannel ch = new EmbeddedChannel(decoder, new Sink());
    ch.writeInbound(Unpooled.wrappedBuffer(ByteBuffer.allocate(4 + 10).putInt(2 << 20).array()));
    assertThat(decoder.bufferedBytes()).isLessThanOrEqualTo(4096);
    assertThat(budget.used()).isEqualTo(decoder.bufferedBytes());
    ch.close();
    assertThat(budget.used()).as("released when the connection closes").isZero();
  }

  @Test
  void theBudgetRefusesTheConnectionThatWouldPassItAndOnlyThatOne() {
    InputBudget budget = new InputBudget(100 << 10);
    Sink first = new Sink();
    Sink second = new Sink();
    EmbeddedChannel a = new EmbeddedChannel(new FrameDecoder(1 << 20, budget, 0), first);
    EmbeddedChannel b = new EmbeddedChannel(new FrameDecoder(1 << 20, budget, 0), second);
    byte[] head = ByteBuffer.allocate(4).putInt(64 << 10).array();
    a.writeInbound(Unpooled.wrappedBuffer(head), Unpooled.wrappedBuffer(new byte[60 << 10]));
    b.writeInbound(Unpooled.wrappedBuffer(head), Unpooled.wrappedBuffer(new byte[60 << 10]));
    assertThat(first.error).isNull();
    assertThat(second.error).isInstanceOf(FrameDecoder.BudgetExceededException.class);
    assertThat(budget.refusals()).isEqualTo(1);
    a.writeInbound(Unpooled.wrappedBuffer(new byte[4 << 10]));
    assertThat(first.frames).hasSize(1);
    assertThat(budget.used()).isZero();
    // After a refusal, the connection's input is discarded.
    b.writeInbound(Unpooled.wrappedBuffer(frame(new byte[3])));
    assertThat(second.frames).isEmpty();
  }

  @Test
  void aLengthAboveTheLimitFailsBeforeAnyBuffering() {
    InputBudget budget = new InputBudget(64L << 20);
    Sink sink = new Sink();
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, budget, 0), sink);
    // 0xFFFFFFFF: the length is unsigned, so this is 4 GiB, not -1.
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {-1, -1, -1, -1, 1, 2}));
    assertThat(sink.error).isInstanceOf(TooLongFrameException.class);
    assertThat(budget.used()).isZero();
  }
}
