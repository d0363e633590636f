package io.flotilla.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OpMixTest {
  private static final long SEED = 42;

  @Test
  void mixesParseAndBadOnesSayWhy() {
    assertThat(OpMix.parseMix("get=90, put=10")).containsEntry(OpMix.Op.GET, 90).containsEntry(OpMix.Op.PUT, 10);
    assertThatThrownBy(() -> OpMix.parseMix("get")).hasMessageContaining("OP=WEIGHT");
    assertThatThrownBy(() -> OpMix.parseMix("fly=3")).hasMessageContaining("unknown operation 'fly'");
    assertThatThrownBy(() -> OpMix.parseMix("get=x")).hasMessageContaining("not a number");
    assertThatThrownBy(() -> OpMix.parseMix("get=1,get=2")).hasMessageContaining("repeated");
    assertThatThrownBy(() -> new OpMix(OpMix.parseMix("get=0"), OpMix.KeyChooser.uniform(10)))
        .hasMessageContaining("positive weight");
  }

  @Test
  void operationsFollowTheirWeights() {
    OpMix w = new OpMix(OpMix.parseMix("get=90,put=10"), OpMix.KeyChooser.uniform(10));
    SplittableRandom rnd = new SplittableRandom(SEED);
    Map<OpMix.Op, Integer> seen = new EnumMap<>(OpMix.Op.class);
    for (int i = 0; i < 100_000; i++) {
      seen.merge(w.nextOp(rnd), 1, Integer::sum);
    }
    assertThat(seen).containsOnlyKeys(OpMix.Op.GET, OpMix.Op.PUT);
    assertThat(seen.get(OpMix.Op.GET)).isBetween(89_000, 91_000);
  }

  @Test
  void uniformKeysCoverTheRangeEvenly() {
    OpMix.KeyChooser u = OpMix.KeyChooser.uniform(100);
    SplittableRandom rnd = new SplittableRandom(SEED);
    int[] hits = new int[100];
    for (int i = 0; i < 100_000; i++) {
      hits[(int) u.next(rnd)]++;
    }
    for (int h : hits) {
      assertThat(h).isBetween(800, 1200);
    }
  }

  @Test
  void zipfKeysAreSkewedTowardTheFirstAndStayInRange() {
    OpMix.KeyChooser z = OpMix.KeyChooser.zipf(1000, 0.99);
    SplittableRandom rnd = new SplittableRandom(SEED);
    int[] hits = new int[1000];
    for (int i = 0; i < 100_000; i++) {
      long k = z.next(rnd);
      assertThat(k).isBetween(0L, 999L);
      hits[(int) k]++;
    }
    // With theta 0.99 over 1000 keys, key 0 draws ~13% and the top 10 keys about 40%.
    assertThat(hits[0]).isBetween(11_000, 15_500);
    int top10 = 0;
    for (int i = 0; i < 10; i++) {
      top10 += hits[i];
    }
    assertThat(top10).isBetween(33_000, 47_000);
    assertThat(hits[0]).isGreaterThan(hits[1]).isGreaterThan(hits[500]);
  }
}
