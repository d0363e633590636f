package io.flotilla.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A few contended keys that are retired after a bounded number of operations each and replaced by
 * fresh ones (Jepsen's "independent keys"): the clients always fight over the same few keys, yet
 * no key's history grows past what the linearizability search handles in moments.
 */
final class KeySlots {
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
}
