package io.flotilla.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.client.wire.Frames;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.codec.MessageCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The wire cost of replication, alone: one AppendEntries of 64 entries x 256 bytes (about
 * 18.6 KB on the wire) through the same code the peer port runs. {@code encode}: the Raft loop's
 * {@code MessageCodec.encode} plus the peer link's framing (Netty's length prepender, in an
 * {@link EmbeddedChannel}); {@code decode}: the receiving side's frame decoder, the copy out of the
 * ByteBuf and {@code MessageCodec.decode}; {@code roundTrip}: both. One operation is one message;
 * run with {@code -prof gc} for bytes allocated per message ({@code gc.alloc.rate.norm}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class CodecBenchmark {
  static final int ENTRIES = 64;
  static final int PAYLOAD = 256;

  private Message.AppendEntries message;
  private byte[] framed;
  private EmbeddedChannel out;
  private EmbeddedChannel in;

  /** The message every benchmark sends: leader 1 to follower 2, term 3, entries 1001..1064. */
  static Message.AppendEntries appendEntries(long firstIndex, int entries, int payloadBytes) {
    List<Entry> list = new ArrayList<>(entries);
    byte[] payload = RawFile.randomBytes(payloadBytes, 5);
    for (int i = 0; i < entries; i++) {
      list.add(new Entry(firstIndex + i, 3, EntryType.NORMAL, payload.clone()));
    }
    return new Message.AppendEntries(1, 1, 2, 3, firstIndex - 1, 3, list, firstIndex - 1);
  }

  @Setup(Level.Trial)
  public void setUp() {
    message = appendEntries(1001, ENTRIES, PAYLOAD);
    out = new EmbeddedChannel(Frames.prepender());
    in = new EmbeddedChannel(Frames.decoder(PeerTransportDefaults.MAX_FRAME_BYTES));
    ByteBuf wire = Unpooled.buffer();
    out.writeOutbound(Unpooled.wrappedBuffer(MessageCodec.encode(message)));
    for (Object o; (o = out.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      wire.writeBytes(b);
      b.release();
    }
    framed = ByteBufUtil.getBytes(wire);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    out.finishAndReleaseAll();
    in.finishAndReleaseAll();
  }

  /** Bytes of one framed message (for the README's arithmetic). */
  int framedBytes() {
    return framed.length;
  }

  @Benchmark
  public int encode() {
    out.writeOutbound(Unpooled.wrappedBuffer(MessageCodec.encode(message)));
    int n = 0;
    for (Object o; (o = out.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      n += b.readableBytes();
      b.release();
    }
    return n;
  }

  @Benchmark
  public Message decode() throws InvalidProtocolBufferException {
    return receive(Unpooled.wrappedBuffer(framed));
  }

  @Benchmark
  public Message roundTrip() throws InvalidProtocolBufferException {
    out.writeOutbound(Unpooled.wrappedBuffer(MessageCodec.encode(message)));
    ByteBuf wire = Unpooled.buffer(framed.length);
    for (Object o; (o = out.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      wire.writeBytes(b);
      b.release();
    }
    return receive(wire);
  }

  private Message receive(ByteBuf wire) throws InvalidProtocolBufferException {
    in.writeInbound(wire);
    ByteBuf frame = in.readInbound();
    try {
      return MessageCodec.decode(ByteBufUtil.getBytes(frame));
    } finally {
      frame.release();
    }
  }

  /** The peer port's default frame limit (PeerTransport.Options.DEFAULT), for the decoder. */
  static final class PeerTransportDefaults {
    static final int MAX_FRAME_BYTES = io.flotilla.server.net.PeerTransport.Options.DEFAULT.maxFrameBytes();

    private PeerTransportDefaults() {}
  }
}
