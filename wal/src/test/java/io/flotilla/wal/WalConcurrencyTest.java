package io.flotilla.wal;

import static io.flotilla.wal.WalTestSupport.payload;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalConcurrencyTest {
  private static final int THREADS = 64;
  private static final int PER_THREAD = 100;
  private static final int SIZE = 40;

  @TempDir Path dir;

  @Test
  void sixtyFourAppendersProduceADenseLogWithNoGapsOrDuplicates() throws Exception {
    long[][] got = new long[THREADS][PER_THREAD];
    AtomicLong forcesSeen = new AtomicLong();
    try (Wal wal = Wal.open(WalTestSupport.small(dir).withSegmentBytes(64 * 1024))) {
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> threads = new ArrayList<>();
      List<Throwable> errors = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int tid = t;
        Thread th = new Thread(() -> {
          try {
            start.await();
            for (int s = 0; s < PER_THREAD; s++) {
              CompletableFuture<Long> f = wal.append(1, payload(tid, s, SIZE));
              got[tid][s] = f.join();
              // Acknowledged means durable.
              assertThat(wal.durableIndex()).isGreaterThanOrEqualTo(got[tid][s]);
            }
          } catch (Throwable e) {
            synchronized (errors) {
              errors.add(e);
            }
          }
        });
        threads.add(th);
        th.start();
      }
      start.countDown();
      for (Thread th : threads) {
        th.join();
      }
      assertThat(errors).isEmpty();
      forcesSeen.set(wal.durableIndex());
    }
    boolean[] seen = new boolean[THREADS * PER_THREAD + 1];
    for (long[] row : got) {
      for (long index : row) {
        assertThat(seen[(int) index]).as("index %d handed out twice", index).isFalse();
        seen[(int) index] = true;
      }
    }
    try (Wal wal = Wal.open(WalTestSupport.small(dir).withCacheBytes(0))) {
      assertThat(wal.lastIndex()).isEqualTo(THREADS * PER_THREAD);
      List<WalEntry> all = wal.entries(1, wal.lastIndex() + 1, 0);
      assertThat(all).hasSize(THREADS * PER_THREAD);
      for (WalEntry e : all) {
        ByteBuffer p = ByteBuffer.wrap(e.payload());
        int tid = (int) p.getLong(0);
        int seq = (int) p.getLong(8);
        assertThat(got[tid][seq]).isEqualTo(e.index());
        assertThat(e.payload()).isEqualTo(payload(tid, seq, SIZE));
      }
    }
  }

  @Test
  void readersOfTheNewestDurableEntryNeverSeeAHalfPublishedSegment() throws Exception {
    // No cache: every read of a written entry goes to the file while the writer keeps appending.
    try (Wal wal = Wal.open(WalTestSupport.small(dir).withCacheBytes(0))) {
      AtomicLong reads = new AtomicLong();
      List<Throwable> errors = new ArrayList<>();
      Thread reader = new Thread(() -> {
        try {
          while (wal.durableIndex() < 3000) {
            long i = wal.durableIndex();
            if (i > 0) {
              assertThat(wal.entry(i).payload()).isEqualTo(payload(i, 1, SIZE));
              reads.incrementAndGet();
            }
          }
        } catch (Throwable e) {
          synchronized (errors) {
            errors.add(e);
          }
        }
      });
      reader.start();
      List<CompletableFuture<Long>> pending = new ArrayList<>();
      for (long i = 1; i <= 3000; i++) {
        pending.add(wal.append(1, payload(i, 1, SIZE)));
        if (pending.size() == 8) {
          pending.forEach(CompletableFuture::join);
          pending.clear();
        }
      }
      pending.forEach(CompletableFuture::join);
      reader.join();
      assertThat(errors).isEmpty();
      assertThat(reads.get()).isPositive();
    }
  }
}
