package io.flotilla.wal;

import static io.flotilla.wal.WalTestSupport.payload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cut that may remove forced records is never silent: recovery saves it, with its bounds, in the
 * hard state before it cuts, reports it, and keeps it there across reopens until the owner clears
 * it (docs/wal.md, "Cuts that may lose forced entries").
 */
class WalRecoveryCutTest {
  private static final int SIZE = 50;
  private static final int RECORD = RecordFormat.HEADER_SIZE + SIZE;
  private static final long TERM = 3;

  @TempDir Path dir;

  private static long offsetOf(int index) {
    return RecordFormat.SEGMENT_HEADER_SIZE + (long) (index - 1) * RECORD;
  }

  /** Entries 1..n, each its own forced write, under hard state term {@link #TERM}. */
  private void writeEach(int n) throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      wal.hardState().save(new WalHardState(TERM, 2, 0));
      WalTestSupport.appendEach(wal, n, TERM, SIZE);
    }
  }

  @Test
  void aCutThroughTheLastForcedRecordIsSavedBeforeItIsMadeAndSurvivesReopens() throws Exception {
    writeEach(10);
    Path seg = WalTestSupport.lastSegment(dir);
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
      ch.truncate(offsetOf(10) + 30); // inside entry 10, which was forced (and maybe acknowledged)
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(9);
      RecoveryCut cut = wal.recoveryReport().cut();
      assertThat(cut.fromIndex()).isEqualTo(10);
      assertThat(cut.untilIndex()).as("an upper bound on what was lost").isEqualTo(10);
      assertThat(cut.term()).isEqualTo(TERM);
      assertThat(wal.hardState().load()).isEqualTo(new WalHardState(TERM, 2, 0, cut));
      assertThat(wal.recoveryReport().events()).anyMatch(e -> e.contains("recovery cut: entries from 10"
          + " up to at most 10") && e.contains(seg.getFileName().toString())
          && e.contains("offset " + offsetOf(10)));
      wal.append(TERM, payload(10, TERM, SIZE)).join(); // the log goes on after the cut
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.recoveryReport().cut()).as("nothing cut this time").isEqualTo(RecoveryCut.NONE);
      assertThat(wal.hardState().load().cut()).as("still unresolved")
          .isEqualTo(new RecoveryCut(10, 10, TERM));
      assertThat(wal.recoveryReport().events()).anyMatch(e -> e.contains("still unresolved"));
      // The owner resolves it; the file goes back to the version older builds read.
      wal.hardState().save(wal.hardState().load().withCut(RecoveryCut.NONE));
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.hardState().load()).isEqualTo(new WalHardState(TERM, 2, 0));
      assertThat(wal.recoveryReport().events()).noneMatch(e -> e.contains("recovery cut"));
    }
    assertThat(Files.readAllBytes(dir.resolve(HardStateFile.FILE_NAME))).hasSize(12 + 28);
  }

  @Test
  void damageInTheFinalWriteGroupCutsTheWholeGroupAndTheIntactRecordsAfterItBoundIt()
      throws Exception {
    // One forced write of 5 entries after 3 single ones: the damage in entry 5 is followed by
    // intact records of the same write, so recovery takes it for a torn write and cuts 5..8.
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      wal.hardState().save(new WalHardState(TERM, 0, 0));
      WalTestSupport.appendEach(wal, 3, TERM, SIZE);
      List<WalEntry> group = new ArrayList<>();
      for (int i = 4; i <= 8; i++) {
        group.add(new WalEntry(i, TERM, payload(i, TERM, SIZE)));
      }
      wal.append(group).join();
    }
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), offsetOf(5) + RecordFormat.HEADER_SIZE + 7);
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(4);
      assertThat(wal.recoveryReport().cut()).isEqualTo(new RecoveryCut(5, 8, TERM));
      assertThat(wal.hardState().load().cut()).isEqualTo(new RecoveryCut(5, 8, TERM));
    }
  }

  @Test
  void garbageAfterTheLastRecordIsBoundedByItsSize() throws Exception {
    writeEach(5);
    byte[] garbage = new byte[3 * RecordFormat.HEADER_SIZE + 1];
    java.util.Arrays.fill(garbage, (byte) 7);
    try (FileChannel ch = FileChannel.open(WalTestSupport.lastSegment(dir), StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(garbage), offsetOf(6));
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(5);
      // 133 bytes can hold at most 4 records (44 bytes each at least).
      assertThat(wal.recoveryReport().cut()).isEqualTo(new RecoveryCut(6, 9, TERM));
    }
  }

  @Test
  void aSecondCutWhileOneIsPendingWidensIt() throws Exception {
    writeEach(10);
    Path seg = WalTestSupport.lastSegment(dir);
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
      ch.truncate(offsetOf(10) + 10);
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      // A later term, then a second cut lower down while the first is unresolved.
      WalHardState hs = wal.hardState().load();
      wal.hardState().save(new WalHardState(TERM + 2, 0, 0, hs.cut()));
    }
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
      ch.truncate(offsetOf(7) + 60);
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(6);
      assertThat(wal.recoveryReport().cut()).isEqualTo(new RecoveryCut(7, 8, TERM + 2));
      assertThat(wal.hardState().load().cut()).isEqualTo(new RecoveryCut(7, 10, TERM + 2));
    }
  }

  @Test
  void aCleanEndOrZerosAfterTheLastRecordCutNothing() throws Exception {
    writeEach(5);
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.recoveryReport().cut()).isEqualTo(RecoveryCut.NONE);
      assertThat(wal.hardState().load().cut()).isEqualTo(RecoveryCut.NONE);
    }
  }

  @Test
  void repairSavesTheCutOfEverythingItDrops() throws Exception {
    writeEach(20);
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), offsetOf(8) + RecordFormat.HEADER_SIZE + 3);
    try (Wal wal = Wal.open(WalOptions.defaults(dir).withRepair())) {
      assertThat(wal.lastIndex()).isEqualTo(7);
      RecoveryCut cut = wal.recoveryReport().cut();
      assertThat(cut.fromIndex()).isEqualTo(8);
      assertThat(cut.untilIndex()).isEqualTo(20);
      assertThat(wal.hardState().load().cut()).isEqualTo(cut);
    }
  }

  @Test
  void bytesBehindADamagedHeaderOfTheLastSegmentAreACut() throws Exception {
    Path d = dir.resolve("small");
    WalOptions small = WalOptions.defaults(d).withSegmentBytes(4096).withPreallocateBytes(0);
    try (Wal wal = Wal.open(small)) {
      wal.hardState().save(new WalHardState(TERM, 0, 0));
      WalTestSupport.appendEach(wal, 100, TERM, SIZE); // several segments
    }
    Path last = WalTestSupport.lastSegment(d);
    long first = Long.parseLong(last.getFileName().toString().replace(Segment.SUFFIX, ""));
    long records = (Files.size(last) - RecordFormat.SEGMENT_HEADER_SIZE) / RECORD;
    // Damage the header and the first record's magic: no intact record is left behind it.
    WalTestSupport.flipByte(last, 20);
    for (long k = 0; k < records; k++) {
      WalTestSupport.flipByte(last, RecordFormat.SEGMENT_HEADER_SIZE + k * RECORD);
    }
    try (Wal wal = Wal.open(small)) {
      assertThat(wal.lastIndex()).isEqualTo(first - 1);
      RecoveryCut cut = wal.recoveryReport().cut();
      assertThat(cut.fromIndex()).isEqualTo(first);
      assertThat(cut.untilIndex()).isGreaterThanOrEqualTo(first + records - 1);
    }
  }

  @Test
  void aHardStateOfVersionTwoCutShortIsCorruption() throws Exception {
    writeEach(1);
    ByteBuffer body = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
    body.putInt(2).putLong(TERM).putLong(0).putLong(0).flip();
    new AtomicFile(dir.resolve(HardStateFile.FILE_NAME)).write(body);
    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("too short");
  }
}
