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
public final class SimRegisters {

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

    /**
     * The whole state as bytes (what a Raft snapshot carries): applied index, registers and applied
     * op ids, in a canonical order so that equal states serialize equally.
     */
    public byte[] serialize() {
        return serializeAt(appliedIndex);
    }

    /** This state, claiming {@code index} as its applied index (for bug injection). */
    byte[] serializeAt(long index) {
        StringBuilder sb = new StringBuilder().append(index);
        values.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> sb.append(' ').append(e.getKey()).append('=').append(e.getValue()));
        sb.append(" |");
        appliedOps.stream().sorted().forEach(op -> sb.append(' ').append(op));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Replaces the whole state with a {@link #serialize()}d one (a snapshot install or a restart). */
    public void restore(byte[] bytes) {
        values.clear();
        appliedOps.clear();
        String[] parts = new String(bytes, StandardCharsets.UTF_8).split(" ");
        appliedIndex = Long.parseLong(parts[0]);
        int i = 1;
        for (; !parts[i].equals("|"); i++) {
            int eq = parts[i].indexOf('=');
            values.put(parts[i].substring(0, eq), Long.parseLong(parts[i].substring(eq + 1)));
        }
        for (i++; i < parts.length; i++) {
            appliedOps.add(Long.parseLong(parts[i]));
        }
    }
}
