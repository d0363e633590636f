package io.flotilla.bench;

import io.flotilla.wal.Wal;
import io.flotilla.wal.WalOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable (fsync on) WAL appends, and the raw disk baselines they are judged against, in one run.
 *
 * <ul>
 *   <li>{@code walClosedLoop01/08/64}: 1, 8 or 64 threads, each appends one entry and waits for
 *       its future (durable) before the next. Throughput and sampled latency.
 *   <li>{@code walPipelined}: 2 threads each keep {@code window} appends in flight (waiting for
 *       the oldest when full), so group-commit batches grow. Throughput in appends/s; multiply by
 *       payload + 44 header bytes for MB/s to disk. At the end of an iteration up to
 *       2 x window appends are still in flight: they are counted but their force is not timed,
 *       an error below 1% at the rates seen here.
 *   <li>{@code rawForce1MiB}: one thread, FileChannel.write of 1 MiB + force(false): the disk's
 *       bandwidth (ops/s x 1 MiB).
 *   <li>{@code rawForceRecord}: one thread, FileChannel.write of one {@code payloadBytes} record +
 *       force(false): the disk's latency floor for a durable small write.
 * </ul>
 *
 * Raw baselines run in a {@link RawFile.Layout#PREALLOCATED preallocated} file (zero-filled and
 * forced up front, as the log's segments are) and an {@link RawFile.Layout#APPENDING appending}
 * one (size metadata on every fdatasync). Every trial uses a fresh directory under
 * {@code -Dflotilla.bench.dir} (default {@code java.io.tmpdir}), deleted afterwards: keep it on the
 * disk being measured.
 *
 * <p>Units: ops/ms for throughput and ms/op for latency (JMH has one unit per method); override
 * with {@code -tu}.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class WalAppendBenchmark {

  private static final long TERM = 1;
  private static final long RAW_PREALLOCATE_BYTES = 128L << 20;

  /** One log per trial, shared by every appender thread. */
  @State(Scope.Benchmark)
  public static class WalState {
    @Param("256")
    public int payloadBytes;

    Path dir;
    Wal wal;
    byte[] payload;

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = TempDirs.create(TempDirs.defaultParent(), "flotilla-jmh-wal-");
      wal = Wal.open(WalOptions.defaults(dir).withSync(true));
      payload = RawFile.randomBytes(payloadBytes, 7);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      try {
        wal.close();
      } finally {
        TempDirs.deleteAndSettle(dir);
      }
    }
  }

  /** A pipelined appender's window of in-flight appends, as a ring of futures. */
  @State(Scope.Thread)
  public static class Window {
    @Param({"256", "1024", "4096"})
    public int window;

    CompletableFuture<?>[] ring;
    long next;

    @Setup(Level.Trial)
    public void setUp() {
      ring = new CompletableFuture<?>[window];
    }

    /** Nothing is left in flight across iterations (or into the log's close). */
    @TearDown(Level.Iteration)
    public void drain() {
      for (int i = 0; i < ring.length; i++) {
        if (ring[i] != null) {
          ring[i].join();
          ring[i] = null;
        }
      }
    }
  }

  /** A raw file per trial and thread, with a 1 MiB buffer and a record-sized one. */
  @State(Scope.Thread)
  public static class RawState {
    @Param({"PREALLOCATED", "APPENDING"})
    public RawFile.Layout layout;

    @Param("256")
    public int payloadBytes;

    Path dir;
    RawFile file;
    ByteBuffer big;
    ByteBuffer record;

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = TempDirs.create(TempDirs.defaultParent(), "flotilla-jmh-raw-");
      file = RawFile.create(dir.resolve("raw.dat"), layout, RAW_PREALLOCATE_BYTES);
      big = RawFile.randomBuffer(WalScenarios.BIG_WRITE_BYTES, 42);
      record = RawFile.randomBuffer(payloadBytes, 42);
    }

    /** An appending file starts each iteration empty, so iterations are alike. */
    @Setup(Level.Iteration)
    public void reset() throws IOException {
      file.reset();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      try {
        file.close();
      } finally {
        TempDirs.deleteAndSettle(dir);
      }
    }
  }

  // ------------------------------------------------------------------------ closed loop

  @Benchmark
  @Threads(1)
  @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
  public long walClosedLoop01(WalState s) {
    return s.wal.append(TERM, s.payload).join();
  }

  @Benchmark
  @Threads(8)
  @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
  public long walClosedLoop08(WalState s) {
    return s.wal.append(TERM, s.payload).join();
  }

  @Benchmark
  @Threads(64)
  @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
  public long walClosedLoop64(WalState s) {
    return s.wal.append(TERM, s.payload).join();
  }

  // -------------------------------------------------------------------------- pipelined

  /** One append per invocation; waits first for the append issued {@code window} calls ago. */
  @Benchmark
  @Threads(2)
  @BenchmarkMode(Mode.Throughput)
  public Object walPipelined(WalState s, Window w) {
    int slot = (int) (w.next++ % w.ring.length);
    CompletableFuture<?> oldest = w.ring[slot];
    Object done = oldest == null ? null : oldest.join();
    w.ring[slot] = s.wal.append(TERM, s.payload);
    return done;
  }

  // ----------------------------------------------------------------------- raw baselines

  @Benchmark
  @Threads(1)
  @BenchmarkMode(Mode.Throughput)
  public void rawForce1MiB(RawState s) throws IOException {
    s.file.writeAndForce(s.big);
  }

  @Benchmark
  @Threads(1)
  @BenchmarkMode({Mode.Throughput, Mode.SampleTime})
  public void rawForceRecord(RawState s) throws IOException {
    s.file.writeAndForce(s.record);
  }
}
