package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child JVM writes 64 groups of one shared log from four threads, one force per round of all
 * their writes, and prints what each force made durable; we kill it with SIGKILL at a seeded
 * moment, reopen, and check every promise of every group: its entries and its hard state. Several
 * rounds on the same directory, so recovery itself is recovered from.
 *
 * <p>Rerun a failure with {@code ./mvnw -B -pl wal test -Dtest=SharedWalCrashTest -Dflotilla.seed=N}.
 */
class SharedWalCrashTest {
  private static final long SEED = Long.getLong("flotilla.seed", 20261203L);
  private static final int ROUNDS = 4;
  private static final int THREADS = 4;
  private static final int GROUPS_PER_THREAD = 16;
  private static final int SIZE = 100;

  @TempDir Path tmp;

  @Test
  void everyDurableEntryAndHardStateOfEveryGroupSurvivesSigkill() throws Exception {
    SplittableRandom rnd = new SplittableRandom(SEED);
    Path dir = tmp.resolve("shared");
    Map<Long, TreeMap<Long, long[]>> promised = new HashMap<>();
    Map<Long, Long> hardStateTerms = new HashMap<>();
    long entriesChecked = 0;
    for (int round = 0; round < ROUNDS; round++) {
      int killAfter = 200 + rnd.nextInt(2000);
      try (ChildJvm child = new ChildJvm(tmp, "groups", dir.toString(), "" + THREADS,
          "" + GROUPS_PER_THREAD, "" + SIZE)) {
        String first = child.readLine();
        assertThat(first).as("child failed to start: %s", child.stderr()).startsWith("OPEN ");
        int lines = 0;
        String line;
        while (lines < killAfter && (line = child.readLine()) != null) {
          apply(promised, hardStateTerms, line);
          lines++;
        }
        assertThat(lines).as(ctx(round, "child died early: " + child.stderr())).isEqualTo(killAfter);
        child.kill();
        // Lines already in the pipe were printed before the kill: they are promises too.
        while ((line = child.readLine()) != null) {
          apply(promised, hardStateTerms, line);
        }
      }
      try (Wal wal = Wal.open(SharedWalCrashChild.options(dir).withCacheBytes(0))) {
        for (Map.Entry<Long, TreeMap<Long, long[]>> g : promised.entrySet()) {
          GroupLog log = wal.group(g.getKey());
          for (Map.Entry<Long, long[]> p : g.getValue().entrySet()) {
            long index = p.getKey();
            WalEntry want = new WalEntry(index, p.getValue()[0],
                WalTestSupport.payload(g.getKey() * 1_000_003L + index, p.getValue()[1], SIZE));
            assertThat(log.lastIndex()).as(ctx(round, "group " + g.getKey() + " last index"))
                .isGreaterThanOrEqualTo(index);
            assertThat(log.entry(index)).as(ctx(round, "group " + g.getKey() + " entry " + index))
                .isEqualTo(want);
            entriesChecked++;
          }
        }
        for (Map.Entry<Long, Long> h : hardStateTerms.entrySet()) {
          WalHardState hs = wal.group(h.getKey()).hardState();
          assertThat(hs.term()).as(ctx(round, "group " + h.getKey() + " hard state term"))
              .isGreaterThanOrEqualTo(h.getValue());
          // Whole: the fields of one save, never a mix.
          WalHardState want = SharedWalCrashChild.hardState(hs.term());
          assertThat(new WalHardState(hs.term(), hs.votedFor(), hs.commitIndex()))
              .as(ctx(round, "group " + h.getKey() + " hard state")).isEqualTo(want);
        }
      }
    }
    assertThat(entriesChecked).as("promises checked").isGreaterThan(ROUNDS * 200L);
    assertThat(hardStateTerms).as("groups with a durable hard state").hasSizeGreaterThan(10);
  }

  private static void apply(Map<Long, TreeMap<Long, long[]>> promised,
      Map<Long, Long> hardStateTerms, String line) {
    String[] f = line.split(" ");
    long group = Long.parseLong(f[1]);
    TreeMap<Long, long[]> entries = promised.computeIfAbsent(group, g -> new TreeMap<>());
    long index = Long.parseLong(f[2]);
    switch (f[0]) {
      case "E" -> entries.put(index, new long[] {Long.parseLong(f[3]), Long.parseLong(f[4])});
      case "H" -> hardStateTerms.merge(group, index, Math::max);
      case "T?" -> entries.tailMap(index, true).clear();
      case "C?" -> entries.headMap(index, true).clear();
      default -> throw new AssertionError("unexpected line from the child: " + line);
    }
  }

  private static String ctx(int round, String what) {
    return what + " [round " + round + ", seed " + SEED + "; rerun: ./mvnw -B -pl wal test"
        + " -Dtest=SharedWalCrashTest -Dflotilla.seed=" + SEED + "]";
  }
}
