package io.flotilla.raft;

/**
 * Increasing log indexes, oldest first, without boxing: one per proposal on the hot path.
 * A growable ring of primitive longs.
 */
final class IndexQueue {
    private long[] ring = new long[64];
    private int head;
    private int size;

    void addLast(long index) {
        if (size == ring.length) {
            long[] bigger = new long[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = get(i);
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = index;
        size++;
    }

    long get(int i) {
        return ring[(head + i) & (ring.length - 1)];
    }

    long first() {
        return get(0);
    }

    void removeFirst() {
        head = (head + 1) & (ring.length - 1);
        size--;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    void clear() {
        head = 0;
        size = 0;
    }
}
