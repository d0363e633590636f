package io.flotilla.bench;

import io.flotilla.wal.Wal;
import io.flotilla.wal.WalOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The WAL append scenarios of {@link WalAppendBenchmark}, run without JMH: plain threads, a fixed
 * warm-up and measured time, HdrHistogram for latency. Quick and readable rather than rigorous;
 * JMH is the reference. Every scenario works in a fresh directory under the parent it is given
 * and deletes it afterwards. Nothing here judges the numbers.
 */
public final class WalScenarios {

  /** Bytes each log record adds to its payload (see RecordFormat in the wal module). */
  public static final int RECORD_HEADER_BYTES = 44;
  /** Write size of the bandwidth baseline. */
  public static final int BIG_WRITE_BYTES = 1 << 20;
  private static final long TERM = 1;

  /**
   * How to run.
   *
   * @param parentDir        scratch directories are created (and deleted) under this
   * @param warmup           unmeasured time before each scenario's measured time
   * @param duration         measured time of each scenario
   * @param payloadBytes     payload of each append, and size of the raw record baseline
   * @param appenders        closed-loop appender counts to run, e.g. 1, 8, 64
   * @param pipelineThreads  threads of the pipelined scenario (0 skips it)
   * @param window           appends each pipelined thread keeps in flight
   * @param rawPreallocBytes size of the preallocated raw file (writes wrap around in it)
   * @param rounds           each scenario runs this many times, for duration / rounds each, the
   *                         rounds of all scenarios interleaved, and its rounds are merged: a
   *                         virtual disk's speed drifts over seconds, and interleaving spreads the
   *                         drift over the log and its baselines alike
   */
  public record Settings(
      Path parentDir,
      Duration warmup,
      Duration duration,
      int payloadBytes,
      List<Integer> appenders,
      int pipelineThreads,
      int window,
      long rawPreallocBytes,
      int rounds) {

    public Settings {
      if (payloadBytes <= 0) {
        throw new IllegalArgumentException("payload must be positive: " + payloadBytes);
      }
      if (duration.isNegative() || duration.isZero() || warmup.isNegative()) {
        throw new IllegalArgumentException("duration must be positive, warm-up not negative");
      }
      for (int a : appenders) {
        if (a <= 0) {
          throw new IllegalArgumentException("appenders must be positive: " + a);
        }
      }
      if (rounds <= 0) {
        throw new IllegalArgumentException("rounds must be positive: " + rounds);
      }
      if (pipelineThreads < 0 || window <= 0) {
        throw new IllegalArgumentException("pipeline threads >= 0 and window > 0 required");
      }
      appenders = List.copyOf(appenders);
    }
  }

  private WalScenarios() {}

  /**
   * Runs every scenario in a fixed order (baselines first), {@code rounds} times over, and hands
   * each scenario's merged result on as its last round ends.
   */
  public static List<ScenarioResult> runAll(Settings s, Consumer<ScenarioResult> onEach)
      throws IOException, InterruptedException {
    Settings slice = new Settings(s.parentDir(), s.warmup(), s.duration().dividedBy(s.rounds()),
        s.payloadBytes(), s.appenders(), s.pipelineThreads(), s.window(), s.rawPreallocBytes(), 1);
    Map<String, ScenarioResult> merged = new LinkedHashMap<>();
    for (int round = 1; round <= s.rounds(); round++) {
      boolean last = round == s.rounds();
      Consumer<ScenarioResult> add = r -> {
        ScenarioResult m = merged.merge(r.name(), r, ScenarioResult::merge);
        if (last) {
          onEach.accept(m);
        }
      };
      add.accept(raw(slice, RawFile.Layout.PREALLOCATED, BIG_WRITE_BYTES));
      add.accept(raw(slice, RawFile.Layout.APPENDING, BIG_WRITE_BYTES));
      add.accept(raw(slice, RawFile.Layout.PREALLOCATED, s.payloadBytes()));
      add.accept(raw(slice, RawFile.Layout.APPENDING, s.payloadBytes()));
      for (int a : s.appenders()) {
        add.accept(walClosedLoop(slice, a));
      }
      if (s.pipelineThreads() > 0) {
        add.accept(walPipelined(slice, s.pipelineThreads(), s.window()));
      }
    }
    return new ArrayList<>(merged.values());
  }

  /** Scenario name of a raw baseline, e.g. {@code raw-1MiB-prealloc}. */
  public static String rawName(RawFile.Layout layout, int writeBytes) {
    String size = writeBytes % (1 << 20) == 0 ? (writeBytes >> 20) + "MiB" : writeBytes + "B";
    return "raw-" + size + (layout == RawFile.Layout.PREALLOCATED ? "-prealloc" : "-append");
  }

  /** One thread: write {@code writeBytes} then force, in a loop, into a fresh raw file. */
  public static ScenarioResult raw(Settings s, RawFile.Layout layout, int writeBytes)
      throws IOException {
    Path dir = TempDirs.create(s.parentDir(), "flotilla-raw-");
    try (RawFile file = RawFile.create(dir.resolve("raw.dat"), layout,
        Math.max(s.rawPreallocBytes(), writeBytes))) {
      ByteBuffer buf = RawFile.randomBuffer(writeBytes, 42);
      Histogram h = new Histogram(3);
      long warmEnd = System.nanoTime() + s.warmup().toNanos();
      while (System.nanoTime() < warmEnd) {
        file.writeAndForce(buf);
      }
      file.reset();
      long start = System.nanoTime();
      long end = start + s.duration().toNanos();
      long ops = 0;
      long now = start;
      while (now < end) {
        long t0 = now;
        file.writeAndForce(buf);
        now = System.nanoTime();
        h.recordValue(now - t0);
        ops++;
      }
      String what = (layout == RawFile.Layout.PREALLOCATED ? "preallocated" : "appending")
          + " file, FileChannel.write + force(false) of " + sizeLabel(writeBytes);
      return new ScenarioResult(rawName(layout, writeBytes), what, 1, 1, ops, ops * writeBytes,
          ops * writeBytes, now - start, h);
    } finally {
      TempDirs.deleteAndSettle(dir);
    }
  }

  /** {@code appenders} threads each append one entry and wait for it to be durable, in a loop. */
  public static ScenarioResult walClosedLoop(Settings s, int appenders)
      throws IOException, InterruptedException {
    Path dir = TempDirs.create(s.parentDir(), "flotilla-wal-");
    try (Wal wal = Wal.open(WalOptions.defaults(dir).withSync(true))) {
      byte[] payload = RawFile.randomBytes(s.payloadBytes(), 7);
      Histogram[] hs = new Histogram[appenders];
      long[] ops = new long[appenders];
      long[] ends = new long[appenders];
      long[] start = new long[1];
      CyclicBarrier go = new CyclicBarrier(appenders, () -> start[0] = System.nanoTime());
      runThreads(appenders, "wal-appender-", t -> {
        Histogram h = new Histogram(3);
        go.await();
        long warmEnd = start[0] + s.warmup().toNanos();
        while (System.nanoTime() < warmEnd) {
          wal.append(TERM, payload).join();
        }
        long end = warmEnd + s.duration().toNanos();
        long n = 0;
        long now = System.nanoTime();
        while (now < end) {
          long t0 = now;
          wal.append(TERM, payload).join();
          now = System.nanoTime();
          h.recordValue(now - t0);
          n++;
        }
        hs[t] = h;
        ops[t] = n;
        ends[t] = now;
      });
      long measureStart = start[0] + s.warmup().toNanos();
      return walResult("wal-closed-" + appenders, appenders + " appender(s), each append + wait",
          appenders, 1, s.payloadBytes(), ops, ends, measureStart, merge(hs));
    } finally {
      TempDirs.deleteAndSettle(dir);
    }
  }

  /**
   * {@code threads} threads each keep {@code window} appends in flight: once the window is full, a
   * thread waits for its oldest append before issuing the next, so group-commit batches grow up to
   * threads x window entries. Latency is issue-to-durable, recorded when each future completes.
   */
  public static ScenarioResult walPipelined(Settings s, int threads, int window)
      throws IOException, InterruptedException {
    Path dir = TempDirs.create(s.parentDir(), "flotilla-wal-");
    try (Wal wal = Wal.open(WalOptions.defaults(dir).withSync(true))) {
      byte[] payload = RawFile.randomBytes(s.payloadBytes(), 7);
      Recorder recorder = new Recorder(3);
      long[] ops = new long[threads];
      long[] ends = new long[threads];
      long[] start = new long[1];
      CyclicBarrier go = new CyclicBarrier(threads, () -> start[0] = System.nanoTime());
      runThreads(threads, "wal-pipeliner-", t -> {
        @SuppressWarnings("unchecked")
        CompletableFuture<Long>[] ring = new CompletableFuture[window];
        go.await();
        long measureStart = start[0] + s.warmup().toNanos();
        long end = measureStart + s.duration().toNanos();
        long n = 0;
        long i = 0;
        long now = System.nanoTime();
        while (now < end) {
          int slot = (int) (i % window);
          if (ring[slot] != null) {
            ring[slot].join();
          }
          long t0 = System.nanoTime();
          boolean measured = t0 >= measureStart;
          CompletableFuture<Long> f = wal.append(TERM, payload);
          if (measured) {
            // Joining the dependent future (not f) guarantees the latency is recorded by then.
            f = f.whenComplete((idx, err) -> recorder.recordValue(System.nanoTime() - t0));
            n++;
          }
          ring[slot] = f;
          i++;
          now = System.nanoTime();
        }
        // What was issued in the measured time counts once it is durable.
        for (CompletableFuture<Long> f : ring) {
          if (f != null) {
            f.join();
          }
        }
        ops[t] = n;
        ends[t] = System.nanoTime();
      });
      long measureStart = start[0] + s.warmup().toNanos();
      return walResult("wal-pipelined-" + threads + "x" + window, threads + " thread(s), "
          + window + " appends in flight each", threads, window, s.payloadBytes(), ops, ends,
          measureStart, recorder.getIntervalHistogram());
    } finally {
      TempDirs.deleteAndSettle(dir);
    }
  }

  private static ScenarioResult walResult(String name, String description, int threads,
      int window, int payloadBytes, long[] ops, long[] ends, long measureStart, Histogram h) {
    long total = 0;
    long last = measureStart;
    for (int t = 0; t < ops.length; t++) {
      total += ops[t];
      last = Math.max(last, ends[t]);
    }
    return new ScenarioResult(name, description, threads, window, total, total * payloadBytes,
        total * (payloadBytes + RECORD_HEADER_BYTES), last - measureStart, h);
  }

  private static Histogram merge(Histogram[] hs) {
    Histogram all = new Histogram(3);
    for (Histogram h : hs) {
      all.add(h);
    }
    return all;
  }

  static String sizeLabel(int bytes) {
    return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : bytes + " B";
  }

  /** The body of one benchmark thread, given its number. */
  private interface ThreadBody {
    void run(int thread) throws Exception;
  }

  /** Runs {@code n} threads to the end; rethrows the first failure of any of them. */
  private static void runThreads(int n, String namePrefix, ThreadBody body)
      throws IOException, InterruptedException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>(n);
    for (int t = 0; t < n; t++) {
      int id = t;
      Thread th = new Thread(() -> {
        try {
          body.run(id);
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }, namePrefix + t);
      threads.add(th);
      th.start();
    }
    for (Thread th : threads) {
      th.join();
    }
    Throwable e = failure.get();
    if (e != null) {
      if (e instanceof IOException io) {
        throw io;
      }
      throw new IOException("benchmark thread failed", e);
    }
  }
}
