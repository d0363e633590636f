package io.flotilla.loadgen;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flotilla.client.proto.Consistency;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives a cluster through the Java client and measures it. Closed loop by default: a fixed
 * number of requests in flight, each completion sends the next. With a rate, open loop: requests
 * are due at fixed intervals and latency counts from when a request was due, not when it was sent,
 * so a stalled server shows up in the latencies instead of silently lowering the offered load
 * (no coordinated omission).
 */
public final class LoadGenerator {

  /** What to run. {@code rate} 0 = closed loop. */
  public record Settings(java.util.function.Supplier<KvTarget> targets, int clients, int concurrency, Duration duration, Duration warmup,
                         int valueSize, OpMix workload, Consistency consistency, double rate, long seed) {
    public Settings {
      if (clients <= 0 || concurrency <= 0 || valueSize < 0 || rate < 0) {
        throw new IllegalArgumentException("clients and concurrency must be positive, value size and rate >= 0");
      }
      if (duration.isNegative() || duration.isZero() || warmup.isNegative()) {
        throw new IllegalArgumentException("duration must be positive and warmup >= 0");
      }
    }
  }

  /** What it measured, after the warmup: successful operations, latencies (ns) of all. */
  public record Result(long ops, double seconds, Histogram latency, Map<String, Long> errors, Map<String, Long> byOp) {
    public double opsPerSecond() {
      return ops / seconds;
    }
  }

  private static final byte[] KEY = "key-".getBytes(UTF_8);
  private static final byte[] CTR = "ctr-".getBytes(UTF_8);
  private static final String[] OP_NAMES = new String[OpMix.Op.values().length];

  static {
    for (OpMix.Op op : OpMix.Op.values()) {
      OP_NAMES[op.ordinal()] = op.name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  private final Settings s;
  private final PrintStream progress;
  private final Recorder recorder = new Recorder(3);
  private final LongAdder intervalErrors = new LongAdder();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> byOp = new ConcurrentHashMap<>();
  private final LongAdder succeeded = new LongAdder();
  private final byte[] value;
  private volatile boolean measuring;
  private volatile boolean stopping;

  public LoadGenerator(Settings settings, PrintStream progress) {
    this.s = settings;
    this.progress = progress;
    this.value = new byte[settings.valueSize()];
    new SplittableRandom(settings.seed()).nextBytes(value);
  }

  public Result run() throws InterruptedException {
    KvTarget[] clients = new KvTarget[s.clients()];
    for (int i = 0; i < clients.length; i++) {
      clients[i] = s.targets().get();
    }
    Semaphore inFlight = new Semaphore(s.concurrency());
    Thread driver = new Thread(() -> drive(clients, inFlight), "loadgen-driver");
    Histogram total = new Histogram(3);
    long measuredOps = 0;
    double seconds;
    try {
      driver.setDaemon(true);
      driver.start();
      long warmupEnd = System.nanoTime() + s.warmup().toNanos();
      while (System.nanoTime() < warmupEnd) {
        tick(1_000_000_000L, false, null);
      }
      recorder.getIntervalHistogram(); // drop the warmup
      errors.clear();
      byOp.clear();
      measuring = true;
      long start = System.nanoTime();
      long end = start + s.duration().toNanos();
      succeeded.reset();
      int second = 0;
      while (System.nanoTime() < end) {
        second++;
        Histogram h = tick(Math.min(1_000_000_000L, end - System.nanoTime()), true, total);
        progress.printf("t=%3ds  %8.0f ops/s  p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  errors %d%n", second,
            h.getTotalCount() / 1.0, h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6,
            h.getMaxValue() / 1e6, intervalErrors.sumThenReset());
      }
      measuring = false;
      seconds = (System.nanoTime() - start) / 1e9;
      measuredOps = succeeded.sum();
      total.add(recorder.getIntervalHistogram());
    } finally {
      stopping = true;
      driver.interrupt();
      // Let what is in flight finish so the cluster is not left with half-sent requests.
      inFlight.tryAcquire(s.concurrency(), 15, TimeUnit.SECONDS);
      for (KvTarget c : clients) {
        c.close();
      }
    }
    return new Result(measuredOps, seconds, total, snapshot(errors), snapshot(byOp));
  }

  private Histogram tick(long nanos, boolean keep, Histogram total) throws InterruptedException {
    new CountDownLatch(1).await(nanos, TimeUnit.NANOSECONDS); // the pace of the report, not a condition
    Histogram h = recorder.getIntervalHistogram();
    if (keep && total != null) {
      total.add(h);
    }
    return h;
  }

  private static Map<String, Long> snapshot(Map<String, LongAdder> m) {
    Map<String, Long> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  /**
   * {@code prefix} + {@code k} as 10 zero-padded decimal digits ("key-0000000042"): the same bytes
   * as {@code String.format("key-%010d", k)} for 0 <= k < 10^10, without the formatter, which cost
   * the single driver thread about a microsecond per request.
   */
  static byte[] key(byte[] prefix, long k) {
    if (k < 0 || k >= 10_000_000_000L) {
      return (new String(prefix, UTF_8) + k).getBytes(UTF_8);
    }
    byte[] out = new byte[prefix.length + 10];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    for (int i = out.length - 1; i >= prefix.length; i--) {
      out[i] = (byte) ('0' + (int) (k % 10));
      k /= 10;
    }
    return out;
  }

  /** The driver thread: keeps `concurrency` requests in flight, or sends them on schedule. */
  private void drive(KvTarget[] clients, Semaphore inFlight) {
    SplittableRandom rnd = new SplittableRandom(s.seed());
    long interval = s.rate() > 0 ? (long) (1e9 / s.rate()) : 0;
    long due = System.nanoTime();
    long n = 0;
    try {
      while (!stopping) {
        if (interval > 0) {
          due += interval;
          long wait = due - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
        }
        inFlight.acquire();
        long start = interval > 0 ? due : System.nanoTime();
        send(clients[(int) (n++ % clients.length)], rnd, start, inFlight);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void send(KvTarget c, SplittableRandom rnd, long start, Semaphore inFlight) {
    OpMix.Op op = s.workload().nextOp(rnd);
    long k = s.workload().nextKey(rnd);
    byte[] key = key(KEY, k);
    CompletableFuture<?> f;
    try {
      f = switch (op) {
        case PUT -> c.put(key, value);
        case GET -> c.get(key, s.consistency());
        case DELETE -> c.delete(key);
        case CAS -> c.cas(key, value, value); // mostly a failed comparison on a fresh key: a normal answer
        case INCR -> c.incr(key(CTR, k), 1);
      };
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete((r, err) -> {
      long latency = System.nanoTime() - start;
      if (measuring) {
        recorder.recordValue(Math.max(1, latency));
        byOp.computeIfAbsent(OP_NAMES[op.ordinal()], x -> new LongAdder()).increment();
        if (err != null) {
          Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
              ? err.getCause() : err;
          String code = c.errorCode(cause);
          errors.computeIfAbsent(code, x -> new LongAdder()).increment();
          intervalErrors.increment();
        } else {
          succeeded.increment();
        }
      }
      inFlight.release();
    });
  }
}
