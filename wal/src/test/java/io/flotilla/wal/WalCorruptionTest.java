package io.flotilla.wal;

import static io.flotilla.wal.WalTestSupport.payload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damage that is not a torn final write must stop the open, loudly and precisely. */
class WalCorruptionTest {
  private static final int SIZE = 50;
  private static final int RECORD = RecordFormat.HEADER_SIZE + SIZE;

  @TempDir Path dir;

  private static long offsetOf(int index) {
    return RecordFormat.SEGMENT_HEADER_SIZE + (long) (index - 1) * RECORD;
  }

  @Test
  void aFlippedByteInAMiddleRecordFailsTheOpenNamingFileAndOffset() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 20, 1, SIZE);
    }
    Path seg = WalTestSupport.lastSegment(dir);
    WalTestSupport.flipByte(seg, offsetOf(8) + RecordFormat.HEADER_SIZE + 10); // inside entry 8's payload

    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class)
        .hasMessageContaining(seg.getFileName().toString())
        .hasMessageContaining("offset " + offsetOf(8))
        .hasMessageContaining("checksum")
        .satisfies(e -> assertThat(((WalCorruptionException) e).offset()).isEqualTo(offsetOf(8)));
    // The failed open released the directory and changed nothing: it fails the same way again.
    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class);
  }

  @Test
  void repairTruncatesAtTheDamageAndReportsWhatWasLost() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 20, 1, SIZE);
    }
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), offsetOf(8) + 5);

    try (Wal wal = Wal.open(WalOptions.defaults(dir).withRepair())) {
      RecoveryReport r = wal.recoveryReport();
      assertThat(r.repaired()).isTrue();
      assertThat(r.firstLostIndex()).isEqualTo(8);
      assertThat(r.lostBytes()).isGreaterThanOrEqualTo(13L * RECORD);
      assertThat(r.events()).anyMatch(e -> e.contains("entries from 8 on are lost"));
      assertThat(wal.lastIndex()).isEqualTo(7);
      assertThat(wal.entries(1, 8, 0)).extracting(WalEntry::index).containsExactly(1L, 2L, 3L, 4L, 5L,
          6L, 7L);
      wal.append(2, payload(8, 2, SIZE)).join();
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.recoveryReport().repaired()).isFalse();
      assertThat(wal.lastIndex()).isEqualTo(8);
      assertThat(wal.term(8)).isEqualTo(2);
    }
  }

  @Test
  void damageInASegmentThatIsNotTheLastIsCorruptionEvenAtItsEnd() throws Exception {
    try (Wal wal = Wal.open(WalTestSupport.small(dir))) {
      WalTestSupport.appendEach(wal, 300, 1, SIZE);
    }
    List<Path> segs = WalTestSupport.segmentFiles(dir);
    assertThat(segs).hasSizeGreaterThan(2);
    Path first = segs.get(0);
    // Cut the first segment's last record in half: a "torn tail", but not in the last segment.
    long size = Files.size(first);
    try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
      ch.truncate(size - RECORD / 2);
    }
    assertThatThrownBy(() -> Wal.open(WalTestSupport.small(dir)))
        .isInstanceOf(WalCorruptionException.class)
        .hasMessageContaining(first.getFileName().toString())
        .hasMessageContaining("not the last");
  }

  @Test
  void aMissingSegmentIsAGap() throws Exception {
    try (Wal wal = Wal.open(WalTestSupport.small(dir))) {
      WalTestSupport.appendEach(wal, 300, 1, SIZE);
    }
    List<Path> segs = WalTestSupport.segmentFiles(dir);
    Files.delete(segs.get(1));
    assertThatThrownBy(() -> Wal.open(WalTestSupport.small(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("next segment starts");
  }

  @Test
  void aDamagedSegmentHeaderWithRecordsBehindItIsCorruption() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 5, 1, SIZE);
    }
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), 17);
    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("bad segment header");
  }

  @Test
  void damageInsideTheFinalUnacknowledgedWriteIsATornTail() throws Exception {
    // Five entries written by one write and one force: if that write tore, none of it was ever
    // acknowledged, so damage followed only by records of the same write is a torn tail.
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 10, 1, SIZE);
      List<WalEntry> batch = new ArrayList<>();
      for (int i = 11; i <= 15; i++) {
        batch.add(new WalEntry(i, 1, payload(i, 1, SIZE)));
      }
      wal.append(batch).join();
    }
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), offsetOf(12) + RecordFormat.HEADER_SIZE + 3);
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(11);
      assertThat(wal.recoveryReport().tornBytes()).isPositive();
    }
  }

  @Test
  void damageFollowedByALaterWriteIsCorruptionNotATornTail() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 10, 1, SIZE);
    }
    // WalEntry 9 went bad after entry 10 had been written by a later write.
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), offsetOf(9) + RecordFormat.HEADER_SIZE + 3);
    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("later write");
  }

  @Test
  void aChecksumFailureOnReadIsReportedAndStopsWrites() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir).withCacheBytes(0))) {
      WalTestSupport.appendEach(wal, 10, 1, SIZE);
      WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), offsetOf(4) + RecordFormat.HEADER_SIZE + 1);
      assertThatThrownBy(() -> wal.entries(1, 11, 0))
          .isInstanceOf(UncheckedIOException.class)
          .hasCauseInstanceOf(WalCorruptionException.class);
      assertThat(wal.append(1, new byte[1])).isCompletedExceptionally();
    }
  }
}
