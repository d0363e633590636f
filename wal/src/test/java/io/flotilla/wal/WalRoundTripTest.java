package io.flotilla.wal;

import static io.flotilla.wal.WalTestSupport.payload;
import static io.flotilla.wal.WalTestSupport.small;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalRoundTripTest {
  @TempDir Path dir;

  @Test
  void entriesSurviveSeveralSegmentRollsAndAReopen() throws Exception {
    int n = 600;
    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.firstIndex()).isEqualTo(1);
      assertThat(wal.lastIndex()).isZero();
      for (int i = 1; i <= n; i++) {
        long term = 1 + i / 100;
        assertThat(wal.append(term, payload(i, term, 1 + i % 200)).join()).isEqualTo(i);
      }
      assertThat(wal.durableIndex()).isEqualTo(n);
    }
    assertThat(WalTestSupport.segmentFiles(dir)).hasSizeGreaterThan(5);

    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.recoveryReport().tornBytes()).isZero();
      assertThat(wal.firstIndex()).isEqualTo(1);
      assertThat(wal.lastIndex()).isEqualTo(n);
      List<WalEntry> all = wal.entries(1, n + 1, 0);
      assertThat(all).hasSize(n);
      for (int i = 1; i <= n; i++) {
        long term = 1 + i / 100;
        assertThat(all.get(i - 1)).isEqualTo(new WalEntry(i, term, payload(i, term, 1 + i % 200)));
        assertThat(wal.term(i)).isEqualTo(term);
      }
      // And the log goes on where it stopped.
      assertThat(wal.append(9, payload(n + 1, 9, 10)).join()).isEqualTo(n + 1);
    }
  }

  @Test
  void batchAppendWithCallerChosenIndexes() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      List<WalEntry> batch = new ArrayList<>();
      for (int i = 1; i <= 50; i++) {
        batch.add(new WalEntry(i, 3, payload(i, 3, 64)));
      }
      assertThat(wal.append(batch).join()).isEqualTo(50);
      assertThatThrownBy(() -> wal.append(List.of(new WalEntry(52, 3, new byte[1]))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ends at 50");
      assertThatThrownBy(() -> wal.append(List.of(new WalEntry(51, 2, new byte[1]))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("below");
      assertThatThrownBy(() -> wal.append(List.of(new WalEntry(51, 3, new byte[1]),
          new WalEntry(53, 3, new byte[1])))).isInstanceOf(IllegalArgumentException.class);
      assertThat(wal.lastIndex()).isEqualTo(50);
    }
  }

  @Test
  void readsRespectTheByteBudgetButReturnAtLeastOneEntry() throws Exception {
    // No cache: every read after the write comes from the segment files.
    try (Wal wal = Wal.open(small(dir).withCacheBytes(0))) {
      WalTestSupport.appendEach(wal, 100, 1, 100);
      assertThat(wal.entries(1, 101, 1000)).hasSize(10);
      assertThat(wal.entries(1, 101, 1)).hasSize(1);
      assertThat(wal.entries(5, 101, 0)).hasSize(96);
      assertThat(wal.entries(40, 40, 0)).isEmpty();
      assertThat(wal.entry(77)).isEqualTo(new WalEntry(77, 1, payload(77, 1, 100)));
      assertThatThrownBy(() -> wal.entries(0, 3, 0)).isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> wal.entries(99, 102, 0))
          .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("past the last");
    }
  }

  @Test
  void oversizedEntriesAreRefusedWithAClearError() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      byte[] big = new byte[WalOptions.DEFAULT_MAX_ENTRY_BYTES + 1];
      assertThatThrownBy(() -> wal.append(1, big)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("exceeds the limit");
      assertThat(wal.lastIndex()).isZero();
    }
  }

  @Test
  void anEntryLargerThanASegmentGetsASegmentOfItsOwn() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      wal.append(1, payload(1, 1, 100)).join();
      wal.append(1, payload(2, 1, 20_000)).join();
      wal.append(1, payload(3, 1, 100)).join();
    }
    try (Wal wal = Wal.open(small(dir).withCacheBytes(0))) {
      assertThat(wal.entry(2).payload()).isEqualTo(payload(2, 1, 20_000));
      assertThat(wal.entry(3).payload()).isEqualTo(payload(3, 1, 100));
    }
  }

  @Test
  void hardStateRoundTripsAndStartsEmpty() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.hardState().load()).isEqualTo(WalHardState.EMPTY);
      wal.hardState().save(new WalHardState(7, 3, 42));
    }
    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.hardState().load()).isEqualTo(new WalHardState(7, 3, 42));
    }
  }

  @Test
  void theListenerSeesEveryGroupCommit() throws Exception {
    java.util.concurrent.atomic.AtomicLong entries = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
    WalListener l = (n, b, writeNanos, forceNanos) -> {
      entries.addAndGet(n);
      bytes.addAndGet(b);
    };
    try (Wal wal = Wal.open(small(dir), l)) {
      WalTestSupport.appendEach(wal, 50, 1, 100);
    }
    assertThat(entries.get()).isEqualTo(50);
    assertThat(bytes.get()).isEqualTo(50L * (RecordFormat.HEADER_SIZE + 100));
  }

  @Test
  void largeWritesGrowTheFileAndReadBackAfterReopen() throws Exception {
    // One group far above the zero-fill threshold, then small ones after it.
    List<WalEntry> big = new ArrayList<>();
    for (int i = 1; i <= 200; i++) {
      big.add(new WalEntry(i, 1, payload(i, 1, 4000)));
    }
    WalOptions opts = WalOptions.defaults(dir).withSegmentBytes(4 << 20);
    try (Wal wal = Wal.open(opts)) {
      wal.append(big).join();
      WalTestSupport.appendEach(wal, 20, 1, 100);
    }
    try (Wal wal = Wal.open(opts.withCacheBytes(0))) {
      assertThat(wal.lastIndex()).isEqualTo(220);
      assertThat(wal.entry(150).payload()).isEqualTo(payload(150, 1, 4000));
      assertThat(wal.entry(220).payload()).isEqualTo(payload(220, 1, 100));
    }
  }
}
