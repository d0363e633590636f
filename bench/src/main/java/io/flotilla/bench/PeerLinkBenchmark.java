package io.flotilla.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.client.Endpoint;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.codec.MessageCodec;
import io.flotilla.server.net.PeerTransport;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Leader to follower over the real peer port: two {@link PeerTransport}s (Netty, TCP on
 * 127.0.0.1:46501/46502, each with its own 2-thread event loop group as in a node), the real
 * codec and framing, and an in-memory follower log. The benchmark thread plays the leader's Raft
 * loop: it builds and encodes an AppendEntries of 64 256-byte entries and hands it to the
 * transport. The follower, on its Netty thread, decodes it, checks prevLogIndex against its log,
 * appends the entries to a ring of entries in memory and answers with an AppendEntriesResponse
 * through its own link; the leader's inbound decodes the answer and completes the batch.
 *
 * <p>{@code pipelined}: up to 8 batches in flight (throughput; one operation = one
 * entry, so the score is entries/s). {@code roundTrip}: one batch at a time (sample mode; one
 * operation = one batch, from encode to the decoded acknowledgement). No disk anywhere.
 */
@State(Scope.Benchmark)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class PeerLinkBenchmark {
  static final int LEADER_PORT = 46501;
  static final int FOLLOWER_PORT = 46502;
  private static final int PAYLOAD = 256;
  private static final int WINDOW = 8;

  private static final int BATCH = 64;

  private EventLoopGroup leaderGroup;
  private EventLoopGroup followerGroup;
  private PeerTransport leader;
  private PeerTransport follower;
  private final Semaphore window = new Semaphore(WINDOW);
  private final ConcurrentHashMap<Long, CompletableFuture<Void>> pending = new ConcurrentHashMap<>();
  private final byte[] payload = RawFile.randomBytes(PAYLOAD, 13);
  private long nextIndex = 1;
  private final FollowerLog log = new FollowerLog();

  @Setup(Level.Trial)
  public void start() throws InterruptedException {
    leaderGroup = new NioEventLoopGroup(2, new DefaultThreadFactory("bench-leader"));
    followerGroup = new NioEventLoopGroup(2, new DefaultThreadFactory("bench-follower"));
    follower = PeerTransport.start(new InetSocketAddress("127.0.0.1", FOLLOWER_PORT), followerGroup,
        (frame, remote) -> onFollower(frame), PeerTransport.Options.DEFAULT);
    leader = PeerTransport.start(new InetSocketAddress("127.0.0.1", LEADER_PORT), leaderGroup,
        (frame, remote) -> onLeader(frame), PeerTransport.Options.DEFAULT);
    leader.setPeer(2, new Endpoint("127.0.0.1", FOLLOWER_PORT));
    follower.setPeer(1, new Endpoint("127.0.0.1", LEADER_PORT));
    // The first frames wait in the link's queue until it has connected; one round trip connects both ways.
    send().join();
  }

  @TearDown(Level.Trial)
  public void stop() {
    leader.close();
    follower.close();
    leaderGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    followerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Setup(Level.Iteration)
  public void drainWindow() {
    window.acquireUninterruptibly(WINDOW);
    window.release(WINDOW);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  @OperationsPerInvocation(BATCH)
  public void pipelined() throws InterruptedException {
    window.acquire();
    send().whenComplete((v, e) -> window.release());
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public void roundTrip() {
    send().join();
  }

  /** On the benchmark thread (the leader's Raft loop): build, encode, hand to the transport. */
  private CompletableFuture<Void> send() {
    long first = nextIndex;
    List<Entry> entries = new ArrayList<>(BATCH);
    for (int i = 0; i < BATCH; i++) {
      entries.add(new Entry(first + i, 3, io.flotilla.raft.EntryType.NORMAL, payload));
    }
    nextIndex += BATCH;
    long last = first + BATCH - 1;
    CompletableFuture<Void> done = new CompletableFuture<>();
    pending.put(last, done);
    leader.send(2, MessageCodec.encode(new Message.AppendEntries(1, 1, 2, 3, first - 1, first == 1 ? 0 : 3,
        entries, first - 1)));
    return done;
  }

  /** On a follower Netty thread. */
  private void onFollower(byte[] frame) {
    Message.AppendEntries ae = (Message.AppendEntries) decode(frame);
    long index = log.append(ae.prevLogIndex(), ae.entries());
    follower.send(1, MessageCodec.encode(new Message.AppendEntriesResponse(1, 2, 1, 3, index > 0, index, 0, 0)));
  }

  /** On a leader Netty thread. */
  private void onLeader(byte[] frame) {
    Message.AppendEntriesResponse r = (Message.AppendEntriesResponse) decode(frame);
    CompletableFuture<Void> done = pending.remove(r.index());
    if (!r.success() || done == null) {
      throw new IllegalStateException("follower rejected or answered an unknown batch: " + r);
    }
    done.complete(null);
  }

  private static Message decode(byte[] frame) {
    try {
      return MessageCodec.decode(frame);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(e);
    }
  }

  /** The follower's log in memory: the last 64Ki entries in a ring, and the last index. */
  static final class FollowerLog {
    private final Entry[] ring = new Entry[1 << 16];
    private final AtomicLong last = new AtomicLong();

    /** Appends after {@code prevLogIndex}; the new last index, or 0 on a gap (a broken benchmark). */
    synchronized long append(long prevLogIndex, List<Entry> entries) {
      if (prevLogIndex != last.get()) {
        return 0;
      }
      for (Entry e : entries) {
        ring[(int) (e.index() & (ring.length - 1))] = e;
      }
      last.set(prevLogIndex + entries.size());
      return last.get();
    }
  }
}
