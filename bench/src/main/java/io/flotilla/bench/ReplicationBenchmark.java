package io.flotilla.bench;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Role;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Pure engine cost of replication: three {@link RaftCore}s in one thread, wired by an in-memory
 * transport, with in-memory storage. One operation is one committed 256-byte entry (proposed on
 * the leader, replicated, acknowledged, committed and handed to apply on all three).
 *
 * <p>{@code oneByOne}: each entry is proposed and driven to commit before the next (no batching:
 * every entry pays a full AppendEntries round). {@code batched64}: 64 proposals per round, which
 * the leader sends as one AppendEntries per follower. Run with {@code -prof gc} for allocation
 * per entry ({@code gc.alloc.rate.norm}).
 *
 * <p>A fresh cluster per iteration keeps memory bounded: the in-memory log cannot compact yet.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class ReplicationBenchmark {
  private static final int PAYLOAD = 256;
  private static final int BATCH = 64;

  private final byte[] payload = RawFile.randomBytes(PAYLOAD, 11);
  private Cluster cluster;

  @Setup(Level.Iteration)
  public void freshCluster() {
    cluster = new Cluster();
  }

  @Benchmark
  public long oneByOne() {
    cluster.propose(payload);
    return cluster.pump();
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long batched64() {
    for (int i = 0; i < BATCH; i++) {
      cluster.propose(payload);
    }
    return cluster.pump();
  }

  /** Three cores and the message queue between them; everything on the calling thread. */
  static final class Cluster {
    final RaftCore[] cores = new RaftCore[3];
    final MemoryStorage[] storage = new MemoryStorage[3];
    final ArrayDeque<Message> wire = new ArrayDeque<>();
    long applied;

    Cluster() {
      for (int i = 0; i < 3; i++) {
        storage[i] = new MemoryStorage();
        RaftConfig config = RaftConfig.of(1, i + 1, Set.of(1L, 2L, 3L), new SplittableRandom(i))
            .withLimits(1 << 20, 256, 64);
        cores[i] = new RaftCore(config, storage[i], storage[i]);
      }
      cores[0].campaign();
      pump();
      if (cores[0].role() != Role.LEADER) {
        throw new IllegalStateException("node 1 did not become leader: " + cores[0]);
      }
    }

    void propose(byte[] data) {
      if (!(cores[0].propose(data) instanceof ProposeResult.Accepted)) {
        throw new IllegalStateException("proposal refused");
      }
    }

    /** Runs every Ready and delivers every message until the cluster is quiet. */
    long pump() {
      boolean busy = true;
      while (busy) {
        busy = false;
        for (int i = 0; i < 3; i++) {
          RaftCore core = cores[i];
          while (core.hasReady()) {
            busy = true;
            Ready rd = core.ready();
            if (rd.mustSync()) {
              storage[i].persist(rd.hardState(), rd.entries());
            }
            wire.addAll(rd.messages());
            for (Entry e : rd.committedEntries()) {
              applied += e.data().length;
            }
            core.advance(rd);
          }
        }
        Message m;
        while ((m = wire.poll()) != null) {
          busy = true;
          cores[(int) m.to() - 1].step(m);
        }
      }
      return applied;
    }
  }
}
