package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chaos run's disk faults against the real write-ahead log's recovery. */
class WalDamageTest {
  @TempDir Path dir;

  /** 20 entries, each its own forced write (so each record is its own batch). */
  private void writeLog() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      for (int i = 1; i <= 20; i++) {
        assertThat(wal.append(1, ("entry-" + i).getBytes()).get()).isEqualTo(i);
      }
    }
  }

  @Test
  void aTornUnacknowledgedWriteIsCutAndTheLogOpensWithEveryRecord() throws Exception {
    writeLog();
    long seed = 7;
    String what = WalDamage.tearUnacknowledgedWrite(dir, new SplittableRandom(seed));
    assertThat(what).as("seed %d", seed).contains("index 21");
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.recoveryReport().tornBytes()).isPositive();
      assertThat(wal.lastIndex()).isEqualTo(20);
      assertThat(wal.recoveryReport().cut().fromIndex()).isEqualTo(21);
    }
  }

  @Test
  void aCutThroughTheLastRecordLosesItAndUndoingTheCutBringsItBack() throws Exception {
    writeLog();
    long seed = 9;
    WalDamage.Patch cut = WalDamage.cutLastRecord(dir, new SplittableRandom(seed));
    assertThat(cut.index()).as("seed %d", seed).isEqualTo(20);
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(19);
      // Recovery cannot tell it from a torn write, but it records the cut for Raft's fence.
      assertThat(wal.recoveryReport().cut().fromIndex()).isEqualTo(20);
      assertThat(wal.hardState().load().cut().untilIndex()).isGreaterThanOrEqualTo(20);
    }
    writeLog2();
    cut = WalDamage.cutLastRecord(dir, new SplittableRandom(seed));
    WalDamage.undo(cut);
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(21);
    }
  }

  /** Appends entries 20 and 21 after the cut above. */
  private void writeLog2() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.append(1, "again-20".getBytes()).get()).isEqualTo(20);
      assertThat(wal.append(1, "again-21".getBytes()).get()).isEqualTo(21);
    }
  }

  @Test
  void aCorruptedMiddleRecordRefusesTheOpenAndUndoingItRestoresTheLog() throws Exception {
    writeLog();
    long seed = 11;
    WalDamage.Patch patch = WalDamage.corruptMiddleRecord(dir, new SplittableRandom(seed));
    assertThat(patch).as("seed %d", seed).isNotNull();
    assertThat(patch.index()).isBetween(2L, 19L);
    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("WAL corruption in");
    WalDamage.undo(patch);
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(20);
    }
  }

  @Test
  void aLogWithOneBatchHasNoMiddleRecordToCorrupt() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      wal.append(1, "only".getBytes()).get();
    }
    assertThat(WalDamage.corruptMiddleRecord(dir, new SplittableRandom(1))).isNull();
  }
}
