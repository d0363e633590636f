package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalAppendDurablyTest {
  @TempDir Path dir;

  /** Which thread ran each group commit. */
  private final List<String> committers = new CopyOnWriteArrayList<>();

  private Wal open(WalListener extra) throws Exception {
    return Wal.open(WalTestSupport.small(dir), (entries, bytes, writeNanos, forceNanos) -> {
      committers.add(Thread.currentThread().getName());
      extra.onCommit(entries, bytes, writeNanos, forceNanos);
    });
  }

  private static List<WalEntry> entries(long from, int n, long term) {
    List<WalEntry> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new WalEntry(from + i, term, WalTestSupport.payload(from + i, term, 30)));
    }
    return out;
  }

  @Test
  void onAnIdleLogTheCallerWritesAndForcesItselfAndTheEntriesAreDurableOnReturn() throws Exception {
    try (Wal wal = open(WalListener.NONE)) {
      for (int round = 0; round < 50; round++) {
        long last = wal.appendDurably(entries(round * 3L + 1, 3, 1));
        assertThat(last).isEqualTo(round * 3L + 3);
        assertThat(wal.durableIndex()).isEqualTo(last);
      }
      // Past several segments (small() makes them small), each created on the caller's thread.
      assertThat(WalTestSupport.segmentFiles(dir).size()).isGreaterThan(1);
      assertThat(committers).hasSize(50).allMatch(Thread.currentThread().getName()::equals);
    }
    try (Wal again = Wal.open(WalTestSupport.small(dir))) {
      assertThat(again.lastIndex()).isEqualTo(150);
      for (long i = 1; i <= 150; i++) {
        assertThat(again.entry(i).payload()).isEqualTo(WalTestSupport.payload(i, 1, 30));
      }
    }
  }

  @Test
  void whileTheWriterIsBusyTheEntriesQueueBehindItsWorkAndKeepTheirOrder() throws Exception {
    CountDownLatch inForce = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    try (Wal wal = open((entries, bytes, w, f) -> {
      if (inForce.getCount() > 0) {
        inForce.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    })) {
      CompletableFuture<Long> first = wal.append(entries(1, 2, 1));
      assertThat(inForce.await(10, TimeUnit.SECONDS)).isTrue(); // the writer is mid-round
      CompletableFuture<Long> second = CompletableFuture.supplyAsync(() -> {
        try {
          return wal.appendDurably(entries(3, 2, 1));
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      // It queues behind the writer's round (outstanding: that round's op and its own) ...
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> wal.outstanding.get() == 2);
      // ... and cannot finish before that round has.
      assertThat(second).isNotDone();
      release.countDown();
      assertThat(first.join()).isEqualTo(2);
      assertThat(second.join()).isEqualTo(4);
      assertThat(committers).hasSize(2).allMatch(name -> name.startsWith("wal-writer-"));
    }
    try (Wal again = Wal.open(WalTestSupport.small(dir))) {
      assertThat(again.lastIndex()).isEqualTo(4);
      assertThat(again.entry(3).payload()).isEqualTo(WalTestSupport.payload(3, 1, 30));
    }
  }

  @Test
  void anInterruptedCallerLeavesTheFilesToTheWriterAndKeepsItsInterrupt() throws Exception {
    try (Wal wal = open(WalListener.NONE)) {
      Thread.currentThread().interrupt();
      try {
        assertThat(wal.appendDurably(entries(1, 1, 1))).isEqualTo(1);
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
      } finally {
        Thread.interrupted();
      }
      assertThat(committers).singleElement().matches(name -> name.startsWith("wal-writer-"));
      // The log still works (an interrupt during file I/O would have closed the file).
      assertThat(wal.appendDurably(entries(2, 1, 1))).isEqualTo(2);
    }
  }

  @Test
  void anIoErrorOnTheCallersThreadFailsTheLogForEveryone() throws Exception {
    Wal wal = open(WalListener.NONE);
    try {
      wal.appendDurably(entries(1, 3, 1));
      wal.segments.get(0).channel.close();
      assertThatThrownBy(() -> wal.appendDurably(entries(4, 1, 1)))
          .isInstanceOf(WalFailedException.class);
      assertThatThrownBy(() -> wal.append(1, new byte[10]).join())
          .hasCauseInstanceOf(WalFailedException.class);
      assertThatThrownBy(() -> wal.appendDurably(entries(5, 1, 1)))
          .isInstanceOf(WalFailedException.class);
      assertThat(wal.durableIndex()).isEqualTo(3);
    } finally {
      wal.close();
    }
    try (Wal again = Wal.open(WalTestSupport.small(dir))) {
      assertThat(again.lastIndex()).isEqualTo(3);
    }
  }

  @Test
  void anEmptyBatchReturnsTheDurableIndexAndABadOneIsRefused() throws Exception {
    try (Wal wal = open(WalListener.NONE)) {
      wal.appendDurably(entries(1, 2, 1));
      assertThat(wal.appendDurably(List.of())).isEqualTo(2);
      assertThatThrownBy(() -> wal.appendDurably(entries(5, 1, 1)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("log ends at 2");
      assertThatThrownBy(() -> wal.appendDurably(entries(3, 1, 0)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("below the last");
      assertThat(wal.appendDurably(entries(3, 1, 2))).isEqualTo(3);
    }
  }
}
