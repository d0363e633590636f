package io.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The keys a chaos run splits at (pre-split and the split fault) lie within the workload's key
 * space and never between one request's keys: a bank's accounts, which one transaction names,
 * always lie in one range. Seeded: {@code -Dflotilla.seed=N}.
 */
class SplitKeysTest {
  private static final long SEED = Long.getLong("flotilla.seed", 16);

  @Test
  void separatesHasTeeth() {
    BankWorkload bank = new BankWorkload();
    assertThat(bank.separates("bank-000003/1")).isTrue();
    assertThat(bank.separates("bank-000003/4")).isTrue();
    assertThat(bank.separates("bank-000003/0x")).isTrue();
    assertThat(bank.separates("bank-000003/0")).isFalse(); // the first account: all of them above
    assertThat(bank.separates("bank-000003/")).isFalse();
    assertThat(bank.separates("bank-000003/5")).isFalse(); // past the last account
    assertThat(bank.separates("bank-000003")).isFalse();
    assertThat(new RegisterWorkload().separates("r1-000003")).isFalse();
  }

  /**
   * True if {@code key} falls between two accounts of one bank: the accounts just below and just
   * above it in key order (all accounts of banks 0..{@code banks}) belong to the same bank.
   */
  private static boolean betweenAccountsOfOneBank(List<String> accounts, String key) {
    int i = java.util.Collections.binarySearch(accounts, key);
    int above = i >= 0 ? i : -i - 1; // a split at an account key puts that account above it
    if (above == 0 || above == accounts.size()) {
      return false;
    }
    String below = accounts.get(above - 1);
    String up = accounts.get(above);
    return below.substring(0, below.indexOf('/')).equals(up.substring(0, up.indexOf('/')));
  }

  @Test
  void noSplitKeySeparatesABanksAccounts() {
    SplittableRandom random = new SplittableRandom(SEED);
    BankWorkload bank = new BankWorkload();
    List<String> accounts = new ArrayList<>();
    int banks = (ChaosSettings.MAX_RANGES + 8) * BankWorkload.PRESPLIT_BANKS;
    for (int g = 0; g < banks; g++) {
      for (int a = 0; a < BankWorkload.ACCOUNTS; a++) {
        accounts.add(BankWorkload.bankKey(g) + "/" + a);
      }
    }
    accounts.sort(null);
    assertThat(betweenAccountsOfOneBank(accounts, "bank-000003/2")).isTrue(); // the oracle's teeth
    assertThat(betweenAccountsOfOneBank(accounts, "bank-000003")).isFalse();
    for (int ranges = 1; ranges <= ChaosSettings.MAX_RANGES; ranges++) {
      List<String> keys = bank.presplitKeys(ranges);
      assertThat(keys).as("seed %d, %d ranges", SEED, ranges).hasSize(ranges - 1)
          .doesNotHaveDuplicates().isSorted().noneMatch(bank::separates)
          .allMatch(k -> k.matches("bank-\\d{6}"))
          .noneMatch(k -> betweenAccountsOfOneBank(accounts, k));
    }
    Set<String> starts = new HashSet<>(bank.presplitKeys(16));
    for (int i = 0; i < 1_000; i++) {
      String k = bank.splitKey(random, starts);
      assertThat(bank.separates(k)).as("seed %d: split key %s", SEED, k).isFalse();
      assertThat(betweenAccountsOfOneBank(accounts, k)).as("seed %d: split key %s", SEED, k)
          .isFalse();
      assertThat(starts).as("seed %d: %s already starts a range", SEED, k).doesNotContain(k);
      starts.add(k);
    }
  }

  @Test
  void registerAndCounterKeysSpreadOverTheRanges() {
    for (Workload w : List.of(new RegisterWorkload(), new CounterWorkload())) {
      String p = w.name().equals("register") ? "r" : "c";
      for (int ranges : new int[] {1, 2, 4, 16, 256}) {
        List<String> keys = w.presplitKeys(ranges);
        assertThat(keys).as("%s, %d ranges", w.name(), ranges).hasSize(ranges - 1)
            .doesNotHaveDuplicates().isSorted().allMatch(k -> k.matches(p + "[0-3]-\\d{6}"));
      }
      // With four ranges, each of the four slots' keys lies in its own range.
      assertThat(w.presplitKeys(4)).containsExactly(p + "1-000000", p + "2-000000", p + "3-000000");
      SplittableRandom random = new SplittableRandom(SEED);
      Set<String> starts = new HashSet<>(w.presplitKeys(16));
      List<String> drawn = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        String k = w.splitKey(random, starts);
        assertThat(starts).as("seed %d", SEED).doesNotContain(k);
        assertThat(k).matches(p + "[0-3]-\\d{6}");
        starts.add(k);
        drawn.add(k);
      }
      SplittableRandom again = new SplittableRandom(SEED);
      Set<String> starts2 = new HashSet<>(w.presplitKeys(16));
      for (String k : drawn) {
        assertThat(w.splitKey(again, starts2)).as("seed %d: the same draws", SEED).isEqualTo(k);
        starts2.add(k);
      }
    }
  }
}
