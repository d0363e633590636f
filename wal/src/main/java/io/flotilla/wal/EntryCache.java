package io.flotilla.wal;

import java.util.Arrays;

/**
 * The most recent entries, in a ring indexed by log index. Every entry not yet written to a file is
 * here (the writer serves nothing from disk that it has not written); older entries stay while the
 * byte budget allows, so followers that are only a little behind are served from memory.
 *
 * <p>Not thread-safe: guarded by the log's state lock.
 */
final class EntryCache {
  private final long maxBytes;
  private WalEntry[] ring = new WalEntry[1024];
  /** Index of the oldest cached entry; the cache holds [first, first + size). */
  private long first = 1;
  private int size;
  private long bytes;

  EntryCache(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** Resets to empty, so the next entry added must be {@code nextIndex}. */
  void reset(long nextIndex) {
    Arrays.fill(ring, null);
    first = nextIndex;
    size = 0;
    bytes = 0;
  }

  void add(WalEntry e) {
    if (e.index() != first + size) {
      throw new IllegalStateException("cache expects index " + (first + size) + ", got " + e.index());
    }
    if (size == ring.length) {
      grow();
    }
    ring[slot(e.index())] = e;
    size++;
    bytes += e.payload().length;
  }

  WalEntry get(long index) {
    if (index < first || index >= first + size) {
      return null;
    }
    return ring[slot(index)];
  }

  /** Drops entries at and after {@code index}. */
  void truncateFrom(long index) {
    while (size > 0 && first + size - 1 >= index) {
      int s = slot(first + size - 1);
      bytes -= ring[s].payload().length;
      ring[s] = null;
      size--;
    }
    if (size == 0) {
      first = index;
    }
  }

  /** Evicts from the oldest end while over budget, but never an entry after {@code writtenIndex}. */
  void evict(long writtenIndex) {
    while (size > 0 && bytes > maxBytes && first <= writtenIndex) {
      int s = slot(first);
      bytes -= ring[s].payload().length;
      ring[s] = null;
      first++;
      size--;
    }
  }

  /** Drops entries before {@code index} (compaction). */
  void dropBefore(long index) {
    while (size > 0 && first < index) {
      int s = slot(first);
      bytes -= ring[s].payload().length;
      ring[s] = null;
      first++;
      size--;
    }
    if (size == 0 && first < index) {
      first = index;
    }
  }

  private int slot(long index) {
    return (int) Math.floorMod(index, (long) ring.length);
  }

  private void grow() {
    WalEntry[] bigger = new WalEntry[ring.length * 2];
    for (long i = first; i < first + size; i++) {
      bigger[(int) Math.floorMod(i, (long) bigger.length)] = ring[slot(i)];
    }
    ring = bigger;
  }
}
