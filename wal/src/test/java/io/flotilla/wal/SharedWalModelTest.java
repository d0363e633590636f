package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A seeded random walk over many groups of one log (every kind of write, truncations, compactions,
 * resets, removals, syncs, reopens), each group checked against its {@link GroupModel} after every
 * reopen and now and then in between. Small segments and a low reclaim threshold make segments
 * roll, get reclaimed and laggards rewritten along the way.
 *
 * <p>Rerun a failure with
 * {@code ./mvnw -B -pl wal test -Dtest=SharedWalModelTest -Dflotilla.seed=N}; soak with
 * {@code -Dflotilla.seeds=200}.
 */
class SharedWalModelTest {
  private static final long SEED = Long.getLong("flotilla.seed", 20261203L);
  /** Seeds to run from SEED on ({@code -Dflotilla.seeds=200} for a soak). */
  private static final int SEEDS = Integer.getInteger("flotilla.seeds", 1);
  private static final int GROUPS = 60;
  private static final int REOPENS = 6;
  private static final int STEPS = 500;

  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path dir;

  /** {@code own}: whether the log also has a group of its own (group 0, file-backed). */
  @ParameterizedTest(name = "own group: {0}")
  @ValueSource(booleans = {false, true})
  void everyGroupMatchesItsModelAcrossReopens(boolean own) throws Exception {
    for (long s = SEED; s < SEED + SEEDS; s++) {
      run(own, s, dir.resolve("seed-" + s));
    }
  }

  private void run(boolean own, long seed0, Path dir) throws Exception {
    long seed = seed0 ^ (own ? 0x5DEECE66DL : 0);
    SplittableRandom rnd = new SplittableRandom(seed);
    WalOptions base = own ? WalOptions.defaults(dir) : WalOptions.shared(dir);
    WalOptions opts = base.withSegmentBytes(16 * 1024).withPreallocateBytes(4096)
        .withReclaim(3, 2048).withCacheBytes(64 * 1024);
    Map<Long, GroupModel> models = new TreeMap<>();
    Map<Long, Long> terms = new TreeMap<>();
    for (long id = 0; id < GROUPS; id++) {
      models.put(id, new GroupModel(id));
      terms.put(id, 1L);
    }
    for (int open = 0; open <= REOPENS; open++) {
      String ctx = "own group " + own + ", open " + open + " (rerun: ./mvnw -B -pl wal test"
          + " -Dtest=SharedWalModelTest -Dflotilla.seed=" + seed0 + ")";
      try (Wal wal = Wal.open(opts.withCacheBytes(rnd.nextBoolean() ? 0 : 64 * 1024))) {
        assertThat(wal.recoveryReport().groupCuts()).as(ctx).isEmpty();
        for (GroupModel m : models.values()) {
          m.check(wal.group(m.id), ctx);
        }
        for (long id : wal.groups()) {
          assertThat(models).as(ctx + ": group %d", id).containsKey(id);
        }
        if (open == REOPENS) {
          break;
        }
        for (int step = 0; step < STEPS; step++) {
          long id = rnd.nextLong(GROUPS);
          step(wal, rnd, models.get(id), terms, own && id == 0, ctx + ", step " + step);
          if (rnd.nextInt(50) == 0) {
            long other = rnd.nextLong(GROUPS);
            models.get(other).check(wal.group(other), ctx + ", step " + step);
          }
        }
        wal.sync();
      }
    }
  }

  private static void step(Wal wal, SplittableRandom rnd, GroupModel m, Map<Long, Long> terms,
      boolean ownGroup, String ctx) throws Exception {
    GroupLog log = wal.group(m.id);
    if (rnd.nextInt(10) == 0) {
      terms.merge(m.id, 1L, Long::sum);
    }
    long term = terms.get(m.id);
    int size = rnd.nextInt(3) == 0 ? 300 + rnd.nextInt(900) : rnd.nextInt(120);
    List<WalEntry> es = m.next(1 + rnd.nextInt(3), term, rnd.nextLong(), size);
    int op = rnd.nextInt(100);
    if (op < 35) {
      WalHardState hs = rnd.nextBoolean() ? new WalHardState(term, m.id % 3, m.compactIndex) : null;
      log.write(es, hs);
      m.append(es);
      if (hs != null) {
        m.hardState = hs;
      }
    } else if (op < 50) {
      log.append(es).join();
      m.append(es);
    } else if (op < 62) {
      log.appendDurably(es);
      m.append(es);
    } else if (op < 68) {
      WalHardState hs = new WalHardState(term, 1 + m.id % 5, m.compactIndex);
      log.saveHardState(hs);
      m.hardState = hs;
    } else if (op < 76) {
      if (m.lastIndex() > m.compactIndex) {
        long at = m.compactIndex + 1 + rnd.nextLong(m.lastIndex() - m.compactIndex);
        log.truncateSuffix(at);
        m.truncateSuffix(at);
      }
    } else if (op < 86) {
      long at = m.lastIndex() > m.compactIndex && rnd.nextInt(4) != 0
          ? m.compactIndex + 1 + rnd.nextLong(m.lastIndex() - m.compactIndex)
          : m.lastIndex() + rnd.nextInt(5);
      if (at > m.compactIndex) {
        long t = at <= m.lastIndex() ? m.termAt(at) : term;
        log.truncatePrefix(at, t);
        m.truncatePrefix(at, t);
      }
    } else if (op < 89) {
      long at = m.compactIndex + rnd.nextInt(40);
      log.reset(at, term);
      m.reset(at, term);
    } else if (op < 91 && !ownGroup) {
      wal.removeGroup(m.id);
      m.entries.clear();
      m.compactIndex = 0;
      m.compactTerm = 0;
      m.hardState = WalHardState.EMPTY;
      terms.put(m.id, 1L);
    } else {
      wal.sync();
      assertThat(log.durableIndex()).as(ctx).isEqualTo(m.lastIndex());
    }
  }
}
