package io.flotilla.raft.tracker;

/**
 * A bounded window of AppendEntries in flight to one follower, identified by the last index each
 * carried (etcd-io/raft tracker/inflights.go). A ring buffer of longs: no allocation per message.
 */
public final class Inflights {

    private final long[] lastIndexes;
    private int start;
    private int count;

    public Inflights(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.lastIndexes = new long[capacity];
    }

    public boolean full() {
        return count == lastIndexes.length;
    }

    public int count() {
        return count;
    }

    /** Records a message whose last entry is {@code lastIndex}; indexes must increase. */
    public void add(long lastIndex) {
        if (full()) {
            throw new IllegalStateException("inflights full");
        }
        if (count > 0 && lastIndexes[(start + count - 1) % lastIndexes.length] >= lastIndex) {
            throw new IllegalStateException("inflight indexes must increase: " + lastIndex);
        }
        lastIndexes[(start + count) % lastIndexes.length] = lastIndex;
        count++;
    }

    /** Frees every message whose last index is &le; {@code index} (acknowledged). */
    public void freeLE(long index) {
        while (count > 0 && lastIndexes[start] <= index) {
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    /** Frees the oldest message (a heartbeat response proves the follower is alive; lets one more through). */
    public void freeFirstOne() {
        if (count > 0) {
            start = (start + 1) % lastIndexes.length;
            count--;
        }
    }

    public void reset() {
        start = 0;
        count = 0;
    }
}
