package io.flotilla.raft.sim;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A key-value register state machine for the simulator. Commands are {@code "opId key value"}; the
 * set of applied op ids lets the final check prove that every acknowledged write was applied.
 */
public final class KvStateMachine {

    private final Map<String, Long> values = new HashMap<>();
    private final Set<Long> appliedOps = new HashSet<>();
    private long appliedIndex;

    public static byte[] encodePut(long opId, String key, long value) {
        return (opId + " " + key + " " + value).getBytes(StandardCharsets.UTF_8);
    }

    public void apply(Entry e) {
        if (e.index() != appliedIndex + 1) {
            throw new AssertionError("applied out of order: " + e.index() + " after " + appliedIndex);
        }
        appliedIndex = e.index();
        if (e.type() != EntryType.NORMAL) {
            return;
        }
        String[] parts = new String(e.data(), StandardCharsets.UTF_8).split(" ");
        appliedOps.add(Long.parseLong(parts[0]));
        values.put(parts[1], Long.parseLong(parts[2]));
    }

    /** 0 if the key was never written. */
    public long get(String key) {
        return values.getOrDefault(key, 0L);
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public boolean hasApplied(long opId) {
        return appliedOps.contains(opId);
    }

    public Map<String, Long> snapshot() {
        return Map.copyOf(values);
    }
}
