package io.flotilla.wal;

import java.util.Arrays;

/**
 * One group's entries in memory: for every index in the group's log, where its record is (segment
 * and ordinal, once written) and, for the most recent ones, the entry itself. One ring indexed by
 * log index holds both, so a lookup is one slot computation.
 *
 * <pre>
 *   first ........ first+written-1 ........ first+size-1
 *   |-- located (in a segment) --|-- accepted, not yet written: always cached --|
 *            |-------------- cached [cacheFirst, first+size) ----------------|
 * </pre>
 *
 * <p>Every entry not yet written to a file is cached (the writer never serves from disk what it
 * has not written); older ones stay while the byte budget allows, so followers a little behind
 * are served from memory. Not thread-safe: guarded by the log's state lock.
 */
final class GroupIndex {
  private Segment[] segments = new Segment[64];
  private int[] ordinals = new int[64];
  private WalEntry[] cached = new WalEntry[64];
  private long first = 1;
  private int size;
  private int written;
  private long cacheFirst = 1;
  private long bytes;

  /** Empties the index; the next entry must be {@code nextIndex}. */
  void reset(long nextIndex) {
    Arrays.fill(segments, null);
    Arrays.fill(cached, null);
    first = nextIndex;
    cacheFirst = nextIndex;
    size = 0;
    written = 0;
    bytes = 0;
  }

  boolean isEmpty() {
    return size == 0;
  }

  long first() {
    return first;
  }

  /** Last accepted index ({@code first - 1} when empty). */
  long last() {
    return first + size - 1;
  }

  /** Last index whose record is in a segment. */
  long writtenLast() {
    return first + written - 1;
  }

  long cachedBytes() {
    return bytes;
  }

  /** An accepted entry, readable at once from memory; it must continue the index. */
  void add(WalEntry e) {
    expectNext(e.index());
    int s = slot(e.index());
    cached[s] = e;
    segments[s] = null;
    size++;
    bytes += e.payload().length;
  }

  /** Replay: an entry found in a segment, not cached. The first one may start anywhere. */
  void addLocated(long index, Segment seg, int ordinal) {
    if (size == 0) {
      reset(index);
    }
    expectNext(index);
    int s = slot(index);
    segments[s] = seg;
    ordinals[s] = ordinal;
    cached[s] = null;
    size++;
    written++;
    cacheFirst = index + 1;
  }

  /** The writer wrote (or rewrote) the record of an accepted entry. */
  void setLocation(long index, Segment seg, int ordinal) {
    if (index < first || index > first + written || index > last()) {
      throw new IllegalStateException("location for " + index + " but written up to "
          + writtenLast() + " of [" + first + ", " + last() + "]");
    }
    int s = slot(index);
    segments[s] = seg;
    ordinals[s] = ordinal;
    if (index == first + written) {
      written++;
    }
  }

  WalEntry cached(long index) {
    return index >= cacheFirst && index <= last() ? cached[slot(index)] : null;
  }

  /** Segment of a written entry. */
  Segment segment(long index) {
    checkWritten(index);
    return segments[slot(index)];
  }

  int ordinal(long index) {
    checkWritten(index);
    return ordinals[slot(index)];
  }

  /** Drops entries at and after {@code index}. */
  void truncateFrom(long index) {
    while (size > 0 && last() >= index) {
      int s = slot(last());
      if (cached[s] != null) {
        bytes -= cached[s].payload().length;
      }
      cached[s] = null;
      segments[s] = null;
      size--;
    }
    written = Math.min(written, size);
    if (size == 0) {
      reset(index);
    } else if (cacheFirst > last() + 1) {
      cacheFirst = last() + 1;
    }
  }

  /** Drops entries before {@code index} (compaction). */
  void dropBefore(long index) {
    if (index > last()) {
      reset(index);
      return;
    }
    while (first < index) {
      int s = slot(first);
      if (cached[s] != null) {
        bytes -= cached[s].payload().length;
      }
      cached[s] = null;
      segments[s] = null;
      first++;
      size--;
      written = Math.max(0, written - 1);
    }
    cacheFirst = Math.max(cacheFirst, first);
  }

  /** Evicts the oldest cached entries while over {@code maxBytes}, but never an unwritten one. */
  void evict(long maxBytes) {
    while (bytes > maxBytes && cacheFirst <= writtenLast()) {
      int s = slot(cacheFirst);
      if (cached[s] != null) {
        bytes -= cached[s].payload().length;
        cached[s] = null;
      }
      cacheFirst++;
    }
  }

  private void expectNext(long index) {
    if (index != first + size) {
      throw new IllegalStateException("index expects " + (first + size) + ", got " + index);
    }
    if (size == segments.length) {
      grow();
    }
  }

  private void checkWritten(long index) {
    if (index < first || index > writtenLast()) {
      throw new IllegalStateException("index " + index + " is not written (written: [" + first
          + ", " + writtenLast() + "])");
    }
  }

  private int slot(long index) {
    return (int) Math.floorMod(index, (long) segments.length);
  }

  private void grow() {
    int cap = segments.length * 2;
    Segment[] s2 = new Segment[cap];
    int[] o2 = new int[cap];
    WalEntry[] c2 = new WalEntry[cap];
    for (long i = first; i < first + size; i++) {
      int from = slot(i);
      int to = (int) Math.floorMod(i, (long) cap);
      s2[to] = segments[from];
      o2[to] = ordinals[from];
      c2[to] = cached[from];
    }
    segments = s2;
    ordinals = o2;
    cached = c2;
  }
}
