package io.flotilla.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A few contended keys that are retired after a bounded number of operations each and replaced by
 * fresh ones (Jepsen's "independent keys"): the clients always fight over the same few keys, yet
 * no key's history grows past what the linearizability search handles in moments.
 */
final class KeySlots {
  /** Generations between two pre-split points within one slot. */
  static final int PRESPLIT_GENERATIONS = 16;
  private final String prefix;
  private final int opsPerKey;
  private final AtomicIntegerArray generation;
  private final AtomicIntegerArray used;
  private final List<String> all = new ArrayList<>();

  KeySlots(String prefix, int slots, int opsPerKey) {
    this.prefix = prefix;
    this.opsPerKey = opsPerKey;
    this.generation = new AtomicIntegerArray(slots);
    this.used = new AtomicIntegerArray(slots);
    for (int s = 0; s < slots; s++) {
      all.add(key(s, 0));
    }
  }

  private String key(int slot, int gen) {
    return String.format("%s%d-%06d", prefix, slot, gen);
  }

  /** The key for the next operation: a random slot's current key. */
  String pick(SplittableRandom random) {
    int s = random.nextInt(generation.length());
    int gen = generation.get(s);
    if (used.incrementAndGet(s) >= opsPerKey && generation.compareAndSet(s, gen, gen + 1)) {
      used.set(s, 0);
      synchronized (all) {
        all.add(key(s, gen + 1));
      }
    }
    return key(s, gen);
  }

  List<String> all() {
    synchronized (all) {
      return List.copyOf(all);
    }
  }

  /**
   * The {@code ranges - 1} pre-split points: first the slots' first keys (so the slots' keys lie
   * in different ranges), then, slot by slot in turn, every {@value #PRESPLIT_GENERATIONS}th
   * generation's key (so the keys the clients move on to lie in further ranges). Sorted. A key's
   * operations name one key, so any key is a legal split point.
   */
  List<String> presplitKeys(int ranges) {
    int slots = generation.length();
    List<String> out = new ArrayList<>();
    for (int s = 1; s < slots && out.size() < ranges - 1; s++) {
      out.add(key(s, 0));
    }
    for (int g = PRESPLIT_GENERATIONS; out.size() < ranges - 1; g += PRESPLIT_GENERATIONS) {
      for (int s = 0; s < slots && out.size() < ranges - 1; s++) {
        out.add(key(s, g));
      }
    }
    out.sort(null);
    return out;
  }

  /**
   * The split fault's key: a random slot's current key (its range splits under the clients'
   * feet) or one of its next three generations' (a range ready before the clients get there);
   * past any key in {@code rangeStarts}, generation by generation. The draws do not depend on
   * {@code rangeStarts}; the current generation depends on how far the clients got.
   */
  String splitKey(SplittableRandom random, Set<String> rangeStarts) {
    int s = random.nextInt(generation.length());
    int g = generation.get(s) + random.nextInt(4);
    while (rangeStarts.contains(key(s, g))) {
      g++;
    }
    return key(s, g);
  }
}
