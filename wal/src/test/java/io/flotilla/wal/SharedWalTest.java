package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many Raft groups in one log: each keeps its own dense log, hard state and compaction point. */
class SharedWalTest {
  private static final int SIZE = 60;

  @TempDir Path dir;

  private static WalOptions options(Path dir) {
    return WalOptions.shared(dir).withSegmentBytes(32 * 1024).withPreallocateBytes(8 * 1024);
  }

  @Test
  void sixtyFourGroupsInterleavedComeBackExactlyAfterAReopen() throws Exception {
    Map<Long, GroupModel> models = new LinkedHashMap<>();
    try (Wal wal = Wal.open(options(dir))) {
      for (int round = 1; round <= 12; round++) {
        for (long id = 1; id <= 64; id++) {
          GroupModel m = models.computeIfAbsent(id, GroupModel::new);
          GroupLog log = wal.group(id);
          List<WalEntry> es = m.next(1 + (int) ((id + round) % 3), round, round, SIZE);
          switch ((int) ((id + round) % 4)) {
            case 0 -> log.write(es, null);
            case 1 -> log.append(es).join();
            case 2 -> log.appendDurably(es);
            default -> {
              WalHardState hs = new WalHardState(round, id % 3, m.lastIndex());
              log.write(es, hs);
              m.hardState = hs;
            }
          }
          m.append(es);
          if (round % 4 == 0 && id % 5 == 0) {
            long cut = m.lastIndex() - 1;
            log.truncateSuffix(cut);
            m.truncateSuffix(cut);
          }
          if (round % 5 == 0 && id % 3 == 0) {
            long at = m.lastIndex() - 2;
            log.truncatePrefix(at, m.termAt(at));
            m.truncatePrefix(at, m.termAt(at));
          }
          if (round == 7 && id % 16 == 0) {
            log.reset(m.lastIndex() + 10, round);
            m.reset(m.lastIndex() + 10, round);
          }
        }
        wal.sync();
      }
      assertThat(WalTestSupport.segmentFiles(dir)).as("a log of several segments").hasSizeGreaterThan(3);
      for (GroupModel m : models.values()) {
        m.check(wal.group(m.id), "before reopen");
      }
    }
    try (Wal wal = Wal.open(options(dir).withCacheBytes(0))) {
      assertThat(wal.groups()).containsExactlyInAnyOrderElementsOf(models.keySet());
      assertThat(wal.recoveryReport().groupCuts()).isEmpty();
      for (GroupModel m : models.values()) {
        m.check(wal.group(m.id), "after reopen");
        assertThat(wal.group(m.id).durableIndex()).isEqualTo(m.lastIndex());
      }
    }
  }

  @Test
  void unforcedWritesOfManyGroupsTakeOneForceAndFurtherSyncsNone() throws Exception {
    AtomicInteger forces = new AtomicInteger();
    AtomicInteger groupsInForce = new AtomicInteger();
    WalListener counter = new WalListener() {
      @Override
      public void onCommit(int entries, long bytes, long writeNanos, long forceNanos) { }

      @Override
      public void onGroupCommit(int entries, int groups, long bytes, long writeNanos,
          long forceNanos) {
        forces.incrementAndGet();
        groupsInForce.set(groups);
      }
    };
    for (int n : new int[] {1, 64, 256}) {
      Path d = dir.resolve("n" + n);
      forces.set(0);
      try (Wal wal = Wal.open(options(d), counter)) {
        for (int round = 1; round <= 3; round++) {
          for (long id = 1; id <= n; id++) {
            GroupLog log = wal.group(id);
            long next = log.lastIndex() + 1;
            log.write(List.of(new WalEntry(next, round, new byte[100])),
                new WalHardState(round, 1, next - 1));
            assertThat(log.durableIndex()).isEqualTo(next - 1);
          }
          assertThat(forces.get()).as("%d groups, round %d: written, not forced", n, round)
              .isEqualTo(round - 1);
          // Every group's storage syncs in the scheduler's round: only the first one forces.
          for (long id = 1; id <= n; id++) {
            wal.sync();
          }
          assertThat(forces.get()).as("%d groups, round %d: one force", n, round).isEqualTo(round);
          assertThat(groupsInForce.get()).isEqualTo(n);
          for (long id = 1; id <= n; id++) {
            assertThat(wal.group(id).durableIndex()).isEqualTo(round);
          }
        }
      }
    }
  }

  @Test
  void writesQueuedBehindABusyWriterAreNotForcedUntilSynced() throws Exception {
    AtomicLong forces = new AtomicLong();
    try (Wal wal = Wal.open(options(dir), (e, b, w, f) -> forces.incrementAndGet())) {
      GroupLog a = wal.group(1);
      GroupLog b = wal.group(2);
      // An interrupted caller always hands its write to the writer thread, which must then write
      // it without forcing: nobody waits for it yet.
      Thread.currentThread().interrupt();
      try {
        a.write(List.of(new WalEntry(1, 1, new byte[10])), null);
      } finally {
        Thread.interrupted();
      }
      b.write(List.of(new WalEntry(1, 1, new byte[10])), new WalHardState(1, 0, 0));
      org.awaitility.Awaitility.await().until(() -> wal.outstanding.get() == 0);
      assertThat(forces.get()).isZero();
      assertThat(a.durableIndex()).isZero();
      wal.sync();
      assertThat(forces.get()).isOne();
      assertThat(a.durableIndex()).isOne();
      assertThat(b.durableIndex()).isOne();
      wal.sync();
      assertThat(forces.get()).isOne();
    }
  }

  @Test
  void aSharedLogHasNoGroupOfItsOwnAndRefusesNegativeIds() throws Exception {
    try (Wal wal = Wal.open(options(dir))) {
      assertThatThrownBy(() -> wal.append(1, new byte[1])).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("group(id)");
      assertThatThrownBy(wal::hardState).isInstanceOf(IllegalStateException.class);
      assertThatThrownBy(() -> wal.group(-1)).isInstanceOf(IllegalArgumentException.class);
      assertThat(wal.recoveryReport().lastIndex()).isZero();
    }
    assertThat(Files.exists(dir.resolve(HardStateFile.FILE_NAME))).isFalse();
    // A shared log is stamped as such: opened as a single-group log it is refused, unchanged.
    try (Wal wal = Wal.open(options(dir))) {
      wal.group(3).appendDurably(List.of(new WalEntry(1, 1, new byte[5])));
    }
    assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
        .isInstanceOf(WalCorruptionException.class).hasMessageContaining("bad segment header");
  }

  @Test
  void aRemovedGroupIsForgottenAndItsIdStartsOverEmpty() throws Exception {
    try (Wal wal = Wal.open(options(dir))) {
      GroupLog gone = wal.group(7);
      gone.appendDurably(List.of(new WalEntry(1, 1, new byte[20]), new WalEntry(2, 1, new byte[20])));
      gone.saveHardState(new WalHardState(1, 1, 2));
      wal.group(8).appendDurably(List.of(new WalEntry(1, 1, new byte[20])));
      wal.removeGroup(7);
      assertThat(wal.groups()).containsExactly(8L);
      assertThatThrownBy(() -> gone.append(List.of(new WalEntry(3, 1, new byte[1]))))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("removed");
      wal.removeGroup(99); // unknown: nothing to do
    }
    try (Wal wal = Wal.open(options(dir))) {
      assertThat(wal.groups()).containsExactly(8L);
      GroupLog again = wal.group(7);
      assertThat(again.lastIndex()).isZero();
      assertThat(again.hardState()).isEqualTo(WalHardState.EMPTY);
      again.appendDurably(List.of(new WalEntry(1, 4, new byte[3])));
    }
    try (Wal wal = Wal.open(options(dir))) {
      assertThat(wal.group(7).lastIndex()).isOne();
      assertThat(wal.group(7).term(1)).isEqualTo(4);
    }
  }

  @Test
  void aResetReplacesTheWholeLogOfItsGroupOnly() throws Exception {
    try (Wal wal = Wal.open(options(dir))) {
      GroupLog a = wal.group(1);
      GroupLog b = wal.group(2);
      List<WalEntry> es = new ArrayList<>();
      for (int i = 1; i <= 30; i++) {
        es.add(new WalEntry(i, 1, WalTestSupport.payload(i, 1, SIZE)));
      }
      a.appendDurably(es);
      b.appendDurably(es);
      a.reset(20, 3); // a snapshot at 20 whose entry differs from ours: everything goes
      assertThat(a.firstIndex()).isEqualTo(21);
      assertThat(a.lastIndex()).isEqualTo(20);
      assertThat(a.term(20)).isEqualTo(3);
      a.appendDurably(List.of(new WalEntry(21, 3, new byte[4])));
    }
    try (Wal wal = Wal.open(options(dir))) {
      GroupLog a = wal.group(1);
      assertThat(a.firstIndex()).isEqualTo(21);
      assertThat(a.lastIndex()).isEqualTo(21);
      assertThat(a.term(20)).isEqualTo(3);
      assertThat(wal.group(2).lastIndex()).isEqualTo(30);
      assertThat(wal.group(2).entry(30)).isEqualTo(new WalEntry(30, 1, WalTestSupport.payload(30, 1, SIZE)));
    }
  }

  @Test
  void theOwnGroupTruncatesBehindOtherGroupsWithARecordAndCutsFilesOtherwise() throws Exception {
    WalOptions opts = WalOptions.defaults(dir);
    long sizeAfterOthers;
    try (Wal wal = Wal.open(opts)) {
      WalTestSupport.appendEach(wal, 10, 1, SIZE);
      wal.group(5).appendDurably(List.of(new WalEntry(1, 1, new byte[SIZE])));
      sizeAfterOthers = WalTestSupport.lastSegment(dir).toFile().length();
      wal.truncateSuffix(6); // group 5's record stands behind entry 6: a truncate record
      assertThat(wal.lastIndex()).isEqualTo(5);
      wal.append(2, WalTestSupport.payload(6, 2, SIZE)).join();
      wal.append(2, WalTestSupport.payload(7, 2, SIZE)).join();
      wal.truncateSuffix(7); // only our own entry behind it: the file is cut, as it always was
      assertThat(wal.lastIndex()).isEqualTo(6);
    }
    assertThat(sizeAfterOthers).isPositive();
    try (Wal wal = Wal.open(opts.withCacheBytes(0))) {
      assertThat(wal.lastIndex()).isEqualTo(6);
      assertThat(wal.term(5)).isEqualTo(1);
      assertThat(wal.entry(6)).isEqualTo(new WalEntry(6, 2, WalTestSupport.payload(6, 2, SIZE)));
      assertThat(wal.entry(3).payload()).isEqualTo(WalTestSupport.payload(3, 1, SIZE));
      assertThat(wal.group(5).lastIndex()).isOne();
      assertThat(wal.groups()).containsExactlyInAnyOrder(0L, 5L);
    }
  }
}
