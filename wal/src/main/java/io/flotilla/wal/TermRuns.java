package io.flotilla.wal;

import java.util.Arrays;

/**
 * Terms of all entries in the log as runs (first index of the run, term). Terms change rarely, so
 * this is tiny, and {@code term(i)} never touches a file: Raft asks for terms on every AppendEntries
 * it sends or receives.
 *
 * <p>Not thread-safe: guarded by the log's state lock.
 */
final class TermRuns {
  private long[] starts = new long[16];
  private long[] terms = new long[16];
  private int size;

  void append(long index, long term) {
    if (size > 0 && terms[size - 1] == term) {
      return;
    }
    if (size > 0 && terms[size - 1] > term) {
      throw new IllegalStateException("term went backwards at index " + index + ": "
          + terms[size - 1] + " -> " + term);
    }
    if (size == starts.length) {
      starts = Arrays.copyOf(starts, size * 2);
      terms = Arrays.copyOf(terms, size * 2);
    }
    starts[size] = index;
    terms[size] = term;
    size++;
  }

  /** Term of the newest run, or -1 when empty. */
  long lastTerm() {
    return size == 0 ? -1 : terms[size - 1];
  }

  /** Term of {@code index}; the caller guarantees the index is in the log. */
  long termOf(long index) {
    int lo = 0;
    int hi = size - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    if (size == 0 || starts[lo] > index) {
      throw new IllegalStateException("no term known for index " + index);
    }
    return terms[lo];
  }

  void truncateFrom(long index) {
    while (size > 0 && starts[size - 1] >= index) {
      size--;
    }
  }

  /** Forgets runs that end before {@code index}. */
  void dropBefore(long index) {
    int k = 0;
    while (k + 1 < size && starts[k + 1] <= index) {
      k++;
    }
    if (k > 0) {
      System.arraycopy(starts, k, starts, 0, size - k);
      System.arraycopy(terms, k, terms, 0, size - k);
      size -= k;
    }
  }

  void clear() {
    size = 0;
  }
}
