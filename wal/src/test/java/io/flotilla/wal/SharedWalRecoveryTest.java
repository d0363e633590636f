package io.flotilla.wal;

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
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety per group in a shared log: a torn final write is cut and saves a recovery cut for
 * exactly the groups that had records in the cut bytes (every group when the bytes cannot tell);
 * damage under a later write is refused; repair cuts every group behind the damage; a cut saved
 * before an open could write it into the groups' hard state is not lost.
 */
class SharedWalRecoveryTest {
  private static final int GROUPS = 8;
  private static final int SIZE = 40;

  @TempDir Path tmp;
  private Path dir;

  @org.junit.jupiter.api.BeforeEach
  void logDir() {
    dir = tmp.resolve("log");
  }

  /** A record of the last segment: where it starts, its size, batch start, group, type, index. */
  private record Rec(long offset, int size, long batchStart, long group, byte type, long index) {}

  private static List<Rec> records(Path segment) throws Exception {
    List<Rec> out = new ArrayList<>();
    for (WalDamage.Rec r : WalDamage.records(segment)) {
      ByteBuffer h = ByteBuffer.allocate(RecordFormat.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
        ch.read(h, r.offset());
      }
      out.add(new Rec(r.offset(), RecordFormat.HEADER_SIZE + r.length(), r.batchStart(),
          h.getLong(RecordFormat.OFF_GROUP), h.get(RecordFormat.OFF_TYPE), r.index()));
    }
    return out;
  }

  /**
   * Two forced writes of every group: entries 1-2 and a hard state (term 3), then entry 3 and,
   * for the even groups, a hard state of term 4 (so the final write group holds both kinds).
   */
  private void writeTwoRounds() throws Exception {
    try (Wal wal = Wal.open(WalOptions.shared(dir))) {
      for (long g = 1; g <= GROUPS; g++) {
        wal.group(g).write(List.of(entry(g, 1, 3), entry(g, 2, 3)), new WalHardState(3, g, 0));
      }
      wal.sync();
      for (long g = 1; g <= GROUPS; g++) {
        wal.group(g).write(List.of(entry(g, 3, 4)), g % 2 == 0 ? new WalHardState(4, g, 1) : null);
      }
      wal.sync();
    }
  }

  private static WalEntry entry(long g, long index, long term) {
    return new WalEntry(index, term, WalTestSupport.payload(g * 100 + index, term, SIZE));
  }

  private List<Rec> finalWrite() throws Exception {
    List<Rec> all = records(WalTestSupport.lastSegment(dir));
    long last = all.get(all.size() - 1).batchStart();
    return all.stream().filter(r -> r.batchStart() == last).toList();
  }

  @Test
  void damageInsideTheFinalWriteCutsExactlyTheGroupsWithRecordsBehindIt() throws Exception {
    writeTwoRounds();
    List<Rec> last = finalWrite();
    assertThat(last).hasSize(GROUPS + GROUPS / 2);
    for (int victim = 0; victim < last.size(); victim++) {
      Path d = tmp.resolve("case-" + victim);
      WalTestSupport.copyDir(dir, d);
      Rec v = last.get(victim);
      WalTestSupport.flipByte(WalTestSupport.lastSegment(d), v.offset() + v.size() - 1);
      Map<Long, Long> lostFrom = new TreeMap<>();
      for (Rec r : last.subList(victim, last.size())) {
        lostFrom.putIfAbsent(r.group(), r.type() == RecordFormat.TYPE_ENTRY ? r.index() : 4);
      }
      String ctx = "damage in record " + victim + " of the final write (group " + v.group() + ")";
      try (Wal wal = Wal.open(WalOptions.shared(d))) {
        Map<Long, RecoveryCut> cuts = wal.recoveryReport().groupCuts();
        assertThat(cuts.keySet()).as(ctx).isEqualTo(lostFrom.keySet());
        for (long g = 1; g <= GROUPS; g++) {
          GroupLog log = wal.group(g);
          boolean entryLost = last.subList(victim, last.size()).stream()
              .anyMatch(r -> r.group() == log.groupId() && r.type() == RecordFormat.TYPE_ENTRY);
          assertThat(log.lastIndex()).as(ctx + ", group " + g).isEqualTo(entryLost ? 2 : 3);
          assertThat(log.entry(2)).isEqualTo(entry(g, 2, 3));
          if (cuts.containsKey(g)) {
            RecoveryCut c = cuts.get(g);
            assertThat(c.fromIndex()).as(ctx + ", group " + g).isEqualTo(log.lastIndex() + 1);
            assertThat(c.untilIndex()).as(ctx).isGreaterThanOrEqualTo(entryLost ? 3 : c.fromIndex());
            // The term of a hard state lost with the write is still covered by the cut.
            assertThat(c.term()).as(ctx + ", group " + g).isEqualTo(g % 2 == 0 ? 4 : 3);
            assertThat(log.recoveryCut()).isEqualTo(c);
            assertThat(log.hardState().cut()).isEqualTo(c);
          } else {
            assertThat(log.recoveryCut()).isEqualTo(RecoveryCut.NONE);
            assertThat(log.hardState().cut()).isEqualTo(RecoveryCut.NONE);
          }
        }
      }
      assertThat(Files.exists(d.resolve(RecoveryCuts.FILE_NAME))).as("written into hard states").isFalse();
      try (Wal wal = Wal.open(WalOptions.shared(d))) {
        assertThat(wal.recoveryReport().groupCuts()).as("nothing cut again").isEmpty();
        for (long g : lostFrom.keySet()) {
          assertThat(wal.group(g).hardState().cut().isNone()).as(ctx + ": still pending").isFalse();
        }
        assertThat(wal.recoveryReport().events()).anyMatch(e -> e.contains("still unresolved"));
      }
    }
  }

  @Test
  void bytesThatNoIntactHeaderAccountsForCutEveryGroup() throws Exception {
    writeTwoRounds();
    Rec lastRec = finalWrite().get(finalWrite().size() - 1);
    // Cut inside the last record's header: those bytes could belong to any group.
    try (FileChannel ch = FileChannel.open(WalTestSupport.lastSegment(dir), StandardOpenOption.WRITE)) {
      ch.truncate(lastRec.offset() + 20);
    }
    try (Wal wal = Wal.open(WalOptions.shared(dir))) {
      Map<Long, RecoveryCut> cuts = wal.recoveryReport().groupCuts();
      Set<Long> all = new TreeSet<>();
      for (long g = 1; g <= GROUPS; g++) {
        all.add(g);
        assertThat(cuts.get(g).fromIndex()).isEqualTo(wal.group(g).lastIndex() + 1);
      }
      assertThat(cuts.keySet()).isEqualTo(all);
      assertThat(wal.recoveryReport().tornBytes()).isEqualTo(20);
    }
  }

  @Test
  void damageUnderALaterWriteIsRefusedAndRepairCutsEveryGroupBehindIt() throws Exception {
    writeTwoRounds();
    List<Rec> all = records(WalTestSupport.lastSegment(dir));
    Rec firstWriteRec = all.get(5);
    assertThat(firstWriteRec.batchStart()).isLessThan(all.get(all.size() - 1).batchStart());
    WalTestSupport.flipByte(WalTestSupport.lastSegment(dir), firstWriteRec.offset() + 50);
    assertThatThrownBy(() -> Wal.open(WalOptions.shared(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("later write")
        .hasMessageContaining("offset " + firstWriteRec.offset());
    Set<Long> behind = new TreeSet<>();
    all.subList(5, all.size()).forEach(r -> behind.add(r.group()));
    try (Wal wal = Wal.open(WalOptions.shared(dir).withRepair())) {
      assertThat(wal.recoveryReport().repaired()).isTrue();
      assertThat(wal.recoveryReport().groupCuts().keySet()).isEqualTo(behind);
      for (long g : behind) {
        assertThat(wal.group(g).hardState().cut().fromIndex()).isEqualTo(wal.group(g).lastIndex() + 1);
      }
    }
  }

  @Test
  void aCutSavedBeforeTheOpenCouldRecordItIsWrittenIntoTheGroupsHardState() throws Exception {
    writeTwoRounds();
    // A crash after recovery saved the cuts and cut the tail, before the hard-state records.
    RecoveryCuts saved = RecoveryCuts.read(dir);
    saved.add(5, new RecoveryCut(4, 6, 4));
    saved.add(42, new RecoveryCut(1, 2, 0));
    saved.save();
    try (Wal wal = Wal.open(WalOptions.shared(dir))) {
      assertThat(wal.group(5).hardState()).isEqualTo(new WalHardState(3, 5, 0, new RecoveryCut(4, 6, 4)));
      assertThat(wal.group(42).hardState().cut()).isEqualTo(new RecoveryCut(1, 2, 0));
      assertThat(wal.recoveryReport().events()).anyMatch(e -> e.contains("group 42"));
    }
    assertThat(Files.exists(dir.resolve(RecoveryCuts.FILE_NAME))).isFalse();
    try (Wal wal = Wal.open(WalOptions.shared(dir))) {
      assertThat(wal.group(5).hardState().cut()).isEqualTo(new RecoveryCut(4, 6, 4));
      // The owner resolves it: the next hard state has no cut, and a reopen agrees.
      wal.group(5).saveHardState(new WalHardState(5, 0, 3));
    }
    try (Wal wal = Wal.open(WalOptions.shared(dir))) {
      assertThat(wal.group(5).hardState()).isEqualTo(new WalHardState(5, 0, 3));
      assertThat(wal.group(42).hardState().cut()).isEqualTo(new RecoveryCut(1, 2, 0));
    }
  }
}
