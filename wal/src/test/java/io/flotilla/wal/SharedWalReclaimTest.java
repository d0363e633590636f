package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Segments of a shared log are freed once no group needs them; an idle group that pins the oldest
 * one has its few live records rewritten at the head so it can go, and a group with too much to
 * rewrite is asked to compact. Nothing a live group holds is lost, across reopens.
 */
class SharedWalReclaimTest {
  private static final int SIZE = 60;

  @TempDir Path dir;

  private WalOptions options(int retained, long rewrite) {
    return WalOptions.shared(dir).withSegmentBytes(8 * 1024).withPreallocateBytes(4096)
        .withReclaim(retained, rewrite);
  }

  private static List<WalEntry> next(GroupLog log, int n, long term) {
    List<WalEntry> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      long index = log.lastIndex() + i;
      out.add(new WalEntry(index, term, WalTestSupport.payload(log.groupId() * 1000 + index, term, SIZE)));
    }
    return out;
  }

  @Test
  void aSegmentGoesOnceEveryGroupCompactedPastIt() throws Exception {
    WalOptions opts = options(1000, 0); // no rewrites: only compaction frees
    try (Wal wal = Wal.open(opts)) {
      for (int step = 0; step < 100; step++) {
        for (long g = 1; g <= 10; g++) {
          wal.group(g).write(next(wal.group(g), 1, 1), null);
        }
        wal.sync();
      }
      int before = WalTestSupport.segmentFiles(dir).size();
      assertThat(before).isGreaterThan(8);
      Path firstSegment = WalTestSupport.segmentFiles(dir).get(0);
      for (long g = 1; g <= 9; g++) {
        wal.group(g).truncatePrefix(100, 1);
      }
      assertThat(WalTestSupport.segmentFiles(dir)).as("group 10 still needs them all").hasSize(before);
      wal.group(10).truncatePrefix(95, 1);
      assertThat(WalTestSupport.segmentFiles(dir)).doesNotContain(firstSegment).hasSizeLessThan(3);
    }
    try (Wal wal = Wal.open(opts.withCacheBytes(0))) {
      for (long g = 1; g <= 9; g++) {
        assertThat(wal.group(g).firstIndex()).isEqualTo(101);
        assertThat(wal.group(g).lastIndex()).isEqualTo(100);
        assertThat(wal.group(g).term(100)).isEqualTo(1);
      }
      GroupLog ten = wal.group(10);
      assertThat(ten.firstIndex()).isEqualTo(96);
      assertThat(ten.entries(96, 101, 0)).extracting(WalEntry::index).containsExactly(96L, 97L, 98L,
          99L, 100L);
      assertThat(ten.entry(100).payload()).isEqualTo(WalTestSupport.payload(10 * 1000 + 100, 1, SIZE));
    }
  }

  @Test
  void anIdleGroupPinningTheOldestSegmentIsRewrittenAndTheSegmentGoes() throws Exception {
    WalOptions opts = options(4, 4096);
    List<WalEntry> idleEntries;
    try (Wal wal = Wal.open(opts)) {
      GroupLog idle = wal.group(1);
      idleEntries = next(idle, 3, 2);
      idle.write(idleEntries, new WalHardState(2, 1, 3));
      wal.group(3).reset(50, 7); // an idle group that only holds a compaction point
      wal.sync();
      Path firstSegment = WalTestSupport.segmentFiles(dir).get(0);
      GroupLog busy = wal.group(2);
      for (int step = 1; step <= 400; step++) {
        busy.write(next(busy, 1, 1), null);
        if (step % 20 == 0) {
          wal.sync();
          busy.truncatePrefix(busy.lastIndex(), 1);
        }
      }
      wal.sync();
      List<Path> segs = WalTestSupport.segmentFiles(dir);
      assertThat(segs).as("bounded by the rewrites").hasSizeLessThanOrEqualTo(5)
          .doesNotContain(firstSegment);
      assertThat(idle.entries(1, 4, 0)).containsExactlyElementsOf(idleEntries);
    }
    try (Wal wal = Wal.open(opts.withCacheBytes(0))) {
      GroupLog idle = wal.group(1);
      assertThat(idle.entries(1, 4, 0)).containsExactlyElementsOf(idleEntries);
      assertThat(idle.hardState()).isEqualTo(new WalHardState(2, 1, 3));
      assertThat(wal.group(3).firstIndex()).isEqualTo(51);
      assertThat(wal.group(3).term(50)).isEqualTo(7);
      assertThat(wal.group(2).lastIndex()).isEqualTo(400);
      assertThat(wal.group(2).firstIndex()).isEqualTo(401);
    }
  }

  @Test
  void aGroupWithTooMuchToRewriteIsAskedToCompactAndKeepsItsSegments() throws Exception {
    Map<Long, Long> wanted = new ConcurrentHashMap<>();
    WalListener l = new WalListener() {
      @Override
      public void onCommit(int entries, long bytes, long writeNanos, long forceNanos) { }

      @Override
      public void onCompactionWanted(long groupId, long liveBytes) {
        wanted.put(groupId, liveBytes);
      }
    };
    try (Wal wal = Wal.open(options(4, 4096), l)) {
      GroupLog big = wal.group(1);
      big.appendDurably(next(big, 40, 1)); // about 4 KiB: more than a quarter segment
      GroupLog busy = wal.group(2);
      for (int step = 1; step <= 400; step++) {
        busy.write(next(busy, 1, 1), null);
        if (step % 20 == 0) {
          wal.sync();
          busy.truncatePrefix(busy.lastIndex(), 1);
        }
      }
      wal.sync();
      assertThat(wanted).containsKey(1L);
      assertThat(wanted.get(1L)).isGreaterThan(2048);
      assertThat(WalTestSupport.segmentFiles(dir).get(0).getFileName().toString())
          .isEqualTo(Segment.fileName(1));
      // Once it compacts, its segments go.
      big.truncatePrefix(40, 1);
      assertThat(WalTestSupport.segmentFiles(dir)).hasSizeLessThanOrEqualTo(5);
    }
  }

  @Test
  void removingAGroupFreesWhatItPinned() throws Exception {
    WalOptions opts = options(1000, 0);
    try (Wal wal = Wal.open(opts)) {
      wal.group(1).appendDurably(next(wal.group(1), 5, 1));
      GroupLog busy = wal.group(2);
      for (int step = 1; step <= 600; step++) {
        busy.write(next(busy, 1, 1), null);
      }
      wal.sync();
      busy.truncatePrefix(busy.lastIndex(), 1);
      assertThat(WalTestSupport.segmentFiles(dir)).hasSizeGreaterThan(5);
      wal.removeGroup(1);
      assertThat(WalTestSupport.segmentFiles(dir)).hasSizeLessThan(2);
    }
    try (Wal wal = Wal.open(opts)) {
      assertThat(wal.groups()).containsExactly(2L);
      assertThat(wal.group(2).firstIndex()).isEqualTo(601);
    }
  }
}
