package io.flotilla.wal;

import static io.flotilla.wal.WalTestSupport.payload;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A crash can stop the last write at any byte. For each cut in the last few records, exactly the
 * records wholly before the cut must come back, and the log must take new appends after them.
 */
class WalTornTailTest {
  private static final int RECORDS = 12;
  private static final int LAST_FEW = 3;
  private static final int SIZE = 37;

  @TempDir Path tmp;

  @Test
  void everyCutOfTheLastRecordsLeavesExactlyTheCompleteOnes() throws Exception {
    Path source = tmp.resolve("source");
    WalOptions opts = WalOptions.defaults(source).withPreallocateBytes(0);
    try (Wal wal = Wal.open(opts)) {
      WalTestSupport.appendEach(wal, RECORDS, 1, SIZE);
    }
    Path seg = WalTestSupport.lastSegment(source);
    byte[] full = Files.readAllBytes(seg);
    int recordSize = RecordFormat.HEADER_SIZE + SIZE;
    assertThat(full.length).isEqualTo(RecordFormat.SEGMENT_HEADER_SIZE + RECORDS * recordSize);
    int firstCut = full.length - LAST_FEW * recordSize;

    int cases = 0;
    for (int cut = firstCut; cut < full.length; cut++) {
      int complete = (cut - RecordFormat.SEGMENT_HEADER_SIZE) / recordSize;
      // Two shapes of the same crash: the file simply ends, or (preallocated) zeros follow.
      byte[] truncated = Arrays.copyOf(full, cut);
      byte[] zeroTail = Arrays.copyOf(truncated, full.length + 4096);
      check(truncated, complete, "cut at " + cut);
      check(zeroTail, complete, "cut at " + cut + " with zero tail");
      cases += 2;
    }
    assertThat(cases).isEqualTo(2 * LAST_FEW * recordSize);
  }

  @Test
  void garbageAfterTheLastRecordIsATornWrite() throws Exception {
    Path dir = tmp.resolve("garbage");
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      WalTestSupport.appendEach(wal, 5, 1, SIZE);
    }
    Path seg = WalTestSupport.lastSegment(dir);
    long end = RecordFormat.SEGMENT_HEADER_SIZE + 5L * (RecordFormat.HEADER_SIZE + SIZE);
    try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}), end);
    }
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.lastIndex()).isEqualTo(5);
      assertThat(wal.recoveryReport().tornBytes()).isPositive();
      assertThat(wal.recoveryReport().events()).anyMatch(e -> e.contains("torn tail"));
    }
    // The cut was made durable: a second open finds a clean log.
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThat(wal.recoveryReport().tornBytes()).isZero();
      assertThat(wal.lastIndex()).isEqualTo(5);
    }
  }

  private void check(byte[] segmentBytes, int complete, String what) throws Exception {
    Path dir = tmp.resolve("case");
    if (Files.exists(dir)) {
      for (Path p : Files.list(dir).toList()) {
        Files.delete(p);
      }
    }
    Files.createDirectories(dir);
    Files.write(dir.resolve(Segment.fileName(1)), segmentBytes);
    WalOptions opts = WalOptions.defaults(dir).withPreallocateBytes(0);
    try (Wal wal = Wal.open(opts)) {
      assertThat(wal.lastIndex()).as(what).isEqualTo(complete);
      List<WalEntry> back = wal.entries(1, complete + 1, 0);
      for (int i = 1; i <= complete; i++) {
        assertThat(back.get(i - 1).payload()).as(what).isEqualTo(payload(i, 1, SIZE));
      }
      // New appends land after the survivors and read back after another reopen.
      wal.append(2, payload(complete + 1, 2, SIZE)).join();
    }
    try (Wal wal = Wal.open(opts.withCacheBytes(0))) {
      assertThat(wal.lastIndex()).as(what).isEqualTo(complete + 1);
      assertThat(wal.entry(complete + 1).payload()).as(what)
          .isEqualTo(payload(complete + 1, 2, SIZE));
    }
  }
}
