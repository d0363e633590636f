package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child JVM appends with many threads and prints each index once its future completes; we kill
 * it with SIGKILL at a seeded moment, reopen, and check every promise. Several rounds on the same
 * directory, so recovery itself is recovered from.
 *
 * <p>Rerun a failure with {@code ./mvnw -B -pl wal test -Dtest=WalCrashTest -Dflotilla.seed=N}.
 */
class WalCrashTest {
  private static final long SEED = Long.getLong("flotilla.seed", 20261123L);
  private static final int ROUNDS = 4;
  private static final int THREADS = 16;
  private static final int SIZE = 200;

  @TempDir Path tmp;

  @Test
  void everyAcknowledgedAppendSurvivesSigkill() throws Exception {
    killAndCheck(new SplittableRandom(SEED), tmp.resolve("wal"),
        "append", tmp.resolve("wal").toString(), "" + THREADS, "" + SIZE);
  }

  /** The Raft path: appendDurably writing on the caller's thread, interleaved with the writer's. */
  @Test
  void everyDurablyAppendedEntrySurvivesSigkill() throws Exception {
    killAndCheck(new SplittableRandom(SEED ^ 0x9E3779B97F4A7C15L), tmp.resolve("durable"),
        "durable", tmp.resolve("durable").toString(), "" + SIZE);
  }

  private void killAndCheck(SplittableRandom rnd, Path dir, String... childArgs) throws Exception {
    Map<Long, long[]> promised = new HashMap<>();
    for (int round = 0; round < ROUNDS; round++) {
      int killAfter = 100 + rnd.nextInt(1500);
      try (ChildJvm child = new ChildJvm(tmp, childArgs)) {
        String first = child.readLine();
        assertThat(first).as("child failed to start: %s", child.stderr()).startsWith("OPEN ");
        int lines = 0;
        String line;
        while (lines < killAfter && (line = child.readLine()) != null) {
          record(promised, line);
          lines++;
        }
        assertThat(lines).as(ctx(round, "child died early: " + child.stderr())).isEqualTo(killAfter);
        child.kill();
        // Lines already in the pipe were printed before the kill: they are promises too.
        while ((line = child.readLine()) != null) {
          record(promised, line);
        }
      }
      try (Wal wal = Wal.open(WalTestSupport.small(dir).withSegmentBytes(64 * 1024)
          .withCacheBytes(0))) {
        long maxPromised = promised.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
        assertThat(wal.lastIndex()).as(ctx(round, "last index")).isGreaterThanOrEqualTo(maxPromised);
        for (Map.Entry<Long, long[]> p : promised.entrySet()) {
          WalEntry e = wal.entry(p.getKey());
          assertThat(e.payload()).as(ctx(round, "payload of index " + p.getKey()))
              .isEqualTo(WalTestSupport.payload(p.getValue()[0], p.getValue()[1], SIZE));
        }
      }
    }
    assertThat(promised).hasSizeGreaterThan(ROUNDS * 100);
  }

  @Test
  void hardStateIsNeverTornBySigkill() throws Exception {
    SplittableRandom rnd = new SplittableRandom(SEED ^ 0x5DEECE66DL);
    Path dir = tmp.resolve("hs");
    long lastPromised = 0;
    for (int round = 0; round < ROUNDS; round++) {
      int killAfter = 5 + rnd.nextInt(60);
      try (ChildJvm child = new ChildJvm(tmp, "hardstate", dir.toString())) {
        String line;
        int lines = 0;
        while (lines < killAfter && (line = child.readLine()) != null) {
          lastPromised = Long.parseLong(line);
          lines++;
        }
        assertThat(lines).as(ctx(round, "child died early: " + child.stderr())).isEqualTo(killAfter);
        child.kill();
        while ((line = child.readLine()) != null) {
          lastPromised = Long.parseLong(line);
        }
      }
      WalHardState hs = HardStateFile.open(dir).load();
      // The old value or the new one, whole: never a mix, never older than what was promised.
      assertThat(hs.term()).as(ctx(round, "term")).isBetween(lastPromised, lastPromised + 1);
      assertThat(hs).as(ctx(round, "fields")).isEqualTo(new WalHardState(hs.term(), hs.term() % 5,
          2 * hs.term()));
    }
  }

  @Test
  void aSecondProcessCannotOpenALockedDirectory() throws Exception {
    Path dir = tmp.resolve("locked");
    try (ChildJvm child = new ChildJvm(tmp, "lock", dir.toString())) {
      assertThat(child.readLine()).as("child: %s", child.stderr()).isEqualTo("LOCKED");
      assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
          .isInstanceOf(WalLockedException.class).hasMessageContaining(dir.toString());
      child.closeInput();
      assertThat(child.waitFor()).isZero();
    }
    Wal.open(WalOptions.defaults(dir)).close();
  }

  private static void record(Map<Long, long[]> promised, String line) {
    String[] f = line.split(" ");
    long[] prev = promised.put(Long.parseLong(f[0]),
        new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
    assertThat(prev).as("index %s acknowledged twice (seed %d)", f[0], SEED).isNull();
  }

  private static String ctx(int round, String what) {
    return what + " [round " + round + ", seed " + SEED + "; rerun: ./mvnw -B -pl wal test"
        + " -Dtest=WalCrashTest -Dflotilla.seed=" + SEED + "]";
  }
}
