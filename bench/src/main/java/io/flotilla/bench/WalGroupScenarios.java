package io.flotilla.bench;

import io.flotilla.wal.GroupLog;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalEntry;
import io.flotilla.wal.WalListener;
import io.flotilla.wal.WalOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * Many Raft groups in one shared log, driven the way {@code RaftScheduler} drives a node's
 * replicas: each worker thread owns some groups and, round after round, writes one entry of each
 * unforced, then syncs the log once. With one log per node, the forces per second must not grow
 * with the number of groups; the appends per second should. Also: how long a reopen takes to
 * replay a log of a given size. Quick and approximate, like {@link WalScenarios}.
 */
public final class WalGroupScenarios {
  private static final long TERM = 1;

  private WalGroupScenarios() {}

  /**
   * What a group scenario measured.
   *
   * @param appends      entries made durable in the measured time
   * @param forces       forces (fdatasync) in the measured time, counted by the log's listener
   * @param roundLatency per worker round (write each owned group, then sync), in nanoseconds
   */
  public record Result(String name, int groups, int workers, long appends, long forces,
      long elapsedNanos, Histogram roundLatency) {
    public double appendsPerSecond() {
      return appends / (elapsedNanos / 1e9);
    }

    public double forcesPerSecond() {
      return forces / (elapsedNanos / 1e9);
    }

    public double appendsPerForce() {
      return forces == 0 ? 0 : (double) appends / forces;
    }
  }

  /** How long opening a log of {@code bytes} over {@code groups} groups took (replay included). */
  public record Replay(int groups, long bytes, int segments, long openNanos) {}

  /** {@code groups} groups, {@code workers} threads, rounds of one unforced entry each + sync. */
  public static Result rounds(Path parent, Duration warmup, Duration duration, int payloadBytes,
      int groups, int workers) throws IOException, InterruptedException {
    Path dir = TempDirs.create(parent, "flotilla-wal-groups-");
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicLong forces = new AtomicLong();
    WalListener count = (entries, bytes, writeNanos, forceNanos) -> {
      if (measuring.get()) {
        forces.incrementAndGet();
      }
    };
    try (Wal wal = Wal.open(WalOptions.shared(dir), count)) {
      byte[] payload = RawFile.randomBytes(payloadBytes, 7);
      int n = Math.max(1, workers);
      long[] appends = new long[n];
      Histogram[] hs = new Histogram[n];
      long[] start = new long[1];
      CyclicBarrier go = new CyclicBarrier(n, () -> start[0] = System.nanoTime());
      CyclicBarrier warm = new CyclicBarrier(n, () -> measuring.set(true));
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < n; w++) {
        int worker = w;
        Thread t = new Thread(() -> {
          try {
            List<GroupLog> mine = new ArrayList<>();
            for (int g = worker; g < groups; g += n) {
              mine.add(wal.group(g + 1));
            }
            Histogram h = new Histogram(3);
            go.await();
            long warmEnd = start[0] + warmup.toNanos();
            while (System.nanoTime() < warmEnd) {
              round(wal, mine, payload);
            }
            warm.await();
            long end = start[0] + warmup.toNanos() + duration.toNanos();
            long done = 0;
            long now = System.nanoTime();
            while (now < end) {
              long t0 = now;
              round(wal, mine, payload);
              now = System.nanoTime();
              h.recordValue(now - t0);
              done += mine.size();
            }
            appends[worker] = done;
            hs[worker] = h;
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        }, "wal-group-worker-" + w);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join();
      }
      measuring.set(false);
      if (failure.get() != null) {
        throw new IOException("group benchmark worker failed", failure.get());
      }
      long total = 0;
      Histogram all = new Histogram(3);
      for (int w = 0; w < n; w++) {
        total += appends[w];
        all.add(hs[w]);
      }
      return new Result("wal-groups-" + groups, groups, n, total, forces.get(), duration.toNanos(),
          all);
    } finally {
      TempDirs.deleteAndSettle(dir);
    }
  }

  /** One worker round: an entry of each owned group, written unforced, then one force for all. */
  private static void round(Wal wal, List<GroupLog> groups, byte[] payload) throws IOException {
    for (GroupLog g : groups) {
      g.write(List.of(new WalEntry(g.lastIndex() + 1, TERM, payload)), null);
    }
    wal.sync();
  }

  /** Writes {@code bytes} of entries over {@code groups} groups, closes, and times a reopen. */
  public static Replay replay(Path parent, int groups, long bytes, int payloadBytes)
      throws IOException {
    Path dir = TempDirs.create(parent, "flotilla-wal-replay-");
    try {
      WalOptions opts = WalOptions.shared(dir).withReclaim(Integer.MAX_VALUE, 0);
      byte[] payload = RawFile.randomBytes(payloadBytes, 7);
      long perRecord = payloadBytes + WalScenarios.RECORD_HEADER_BYTES;
      try (Wal wal = Wal.open(opts)) {
        for (long written = 0; written < bytes; ) {
          for (int g = 1; g <= groups && written < bytes; g++) {
            GroupLog log = wal.group(g);
            List<WalEntry> batch = new ArrayList<>();
            for (int i = 1; i <= 16; i++) {
              batch.add(new WalEntry(log.lastIndex() + i, TERM, payload));
            }
            log.write(batch, null);
            written += 16 * perRecord;
          }
          wal.sync();
        }
      }
      long t0 = System.nanoTime();
      try (Wal wal = Wal.open(opts)) {
        long took = System.nanoTime() - t0;
        return new Replay(groups, bytes, wal.recoveryReport().segments(), took);
      }
    } finally {
      TempDirs.deleteAndSettle(dir);
    }
  }
}
