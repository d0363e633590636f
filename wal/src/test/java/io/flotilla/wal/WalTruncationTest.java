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

class WalTruncationTest {
  private static final int SIZE = 100;

  @TempDir Path dir;

  @Test
  void suffixTruncationAcrossSegmentsSurvivesRestart() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      WalTestSupport.appendEach(wal, 300, 1, SIZE);
      int before = WalTestSupport.segmentFiles(dir).size();
      wal.truncateSuffix(50); // deep inside an old segment: later segments must go
      assertThat(wal.lastIndex()).isEqualTo(49);
      assertThat(wal.durableIndex()).isEqualTo(49);
      assertThat(WalTestSupport.segmentFiles(dir).size()).isLessThan(before);
      assertThatThrownBy(() -> wal.entries(50, 51, 0)).isInstanceOf(IndexOutOfBoundsException.class);
      List<WalEntry> replacement = new ArrayList<>();
      for (int i = 50; i <= 60; i++) {
        replacement.add(new WalEntry(i, 2, payload(i, 2, SIZE)));
      }
      wal.append(replacement).join();
    }
    try (Wal wal = Wal.open(small(dir).withCacheBytes(0))) {
      assertThat(wal.lastIndex()).isEqualTo(60);
      for (long i = 1; i <= 60; i++) {
        long term = i < 50 ? 1 : 2;
        assertThat(wal.entry(i)).isEqualTo(new WalEntry(i, term, payload(i, term, SIZE)));
      }
    }
  }

  @Test
  void truncatedEntriesDoNotComeBackAfterACrash() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 30, 1, SIZE);
      wal.truncateSuffix(21);
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(20);
      assertThat(wal.recoveryReport().tornBytes()).isZero();
    }
  }

  @Test
  void truncatingEverythingAndStartingOver() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      WalTestSupport.appendEach(wal, 100, 1, SIZE);
      wal.truncateSuffix(1);
      assertThat(wal.lastIndex()).isZero();
      assertThat(WalTestSupport.segmentFiles(dir)).isEmpty();
      wal.append(5, payload(1, 5, SIZE)).join();
    }
    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(1);
      assertThat(wal.term(1)).isEqualTo(5);
    }
  }

  @Test
  void prefixTruncationDeletesWholeSegmentsAndKeepsTheBoundaryTerm() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      for (int i = 1; i <= 300; i++) {
        long term = i <= 150 ? 1 : 2;
        wal.append(term, payload(i, term, SIZE)).join();
      }
      int before = WalTestSupport.segmentFiles(dir).size();
      wal.truncatePrefix(200, 2);
      assertThat(wal.firstIndex()).isEqualTo(201);
      assertThat(wal.term(200)).isEqualTo(2);
      assertThat(WalTestSupport.segmentFiles(dir).size()).isLessThan(before);
      assertThatThrownBy(() -> wal.entries(200, 201, 0))
          .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("compacted");
      assertThatThrownBy(() -> wal.truncateSuffix(150))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("compacted");
      assertThatThrownBy(() -> wal.truncatePrefix(250, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("term");
    }
    try (Wal wal = Wal.open(small(dir).withCacheBytes(0))) {
      assertThat(wal.firstIndex()).isEqualTo(201);
      assertThat(wal.lastIndex()).isEqualTo(300);
      assertThat(wal.term(200)).isEqualTo(2);
      assertThat(wal.entries(201, 301, 0)).hasSize(100);
      assertThat(wal.entry(201).payload()).isEqualTo(payload(201, 2, SIZE));
    }
  }

  @Test
  void aSnapshotPastTheEndEmptiesTheLogAndAppendsResumeAfterIt() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      WalTestSupport.appendEach(wal, 40, 1, SIZE);
      wal.truncatePrefix(1000, 4);
      assertThat(wal.firstIndex()).isEqualTo(1001);
      assertThat(wal.lastIndex()).isEqualTo(1000);
      assertThat(wal.term(1000)).isEqualTo(4);
      assertThat(WalTestSupport.segmentFiles(dir)).isEmpty();
      assertThat(wal.append(4, payload(1001, 4, SIZE)).join()).isEqualTo(1001);
    }
    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.firstIndex()).isEqualTo(1001);
      assertThat(wal.lastIndex()).isEqualTo(1001);
      assertThat(wal.term(1000)).isEqualTo(4);
    }
  }

  @Test
  void segmentsLeftBehindByACrashDuringCompactionAreDeletedOnOpen() throws Exception {
    try (Wal wal = Wal.open(small(dir))) {
      WalTestSupport.appendEach(wal, 300, 1, SIZE);
    }
    int before = WalTestSupport.segmentFiles(dir).size();
    // The compaction point was recorded but the process died before deleting any segment.
    WalRecovery.compactionFile(dir).write(WalRecovery.encodeCompaction(200, 1));
    try (Wal wal = Wal.open(small(dir))) {
      assertThat(wal.firstIndex()).isEqualTo(201);
      assertThat(wal.lastIndex()).isEqualTo(300);
      assertThat(WalTestSupport.segmentFiles(dir).size()).isLessThan(before);
      assertThat(wal.recoveryReport().events()).anyMatch(e -> e.contains("compacted segment"));
    }
  }
}
