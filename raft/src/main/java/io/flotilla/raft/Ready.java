package io.flotilla.raft;

import java.util.List;

/**
 * Everything the core asks its driver to do, in one value (etcd-io/raft's Ready). The driver:
 * <ol>
 *   <li>installs {@link #snapshot} if non-null (a snapshot from the leader: it replaces the whole
 *       stored log and the state machine's state), then appends {@link #entries} to the log, first deleting every stored entry with index
 *       &ge; {@link #truncateFrom()} (a conflicting suffix replaced by the leader), and persists
 *       {@link #hardState} if non-null; then forces both to disk (one sync for both);</li>
 *   <li>sends {@link #messages} — only after step 1 is durable, unless {@link #sendBeforePersist}
 *       is true (a leader's messages never acknowledge its own unpersisted state, §10.2.1);</li>
 *   <li>applies {@link #committedEntries} in order, serves {@link #readStates} once applied
 *       reaches their index, and fails {@link #failures} back to clients;</li>
 *   <li>calls {@link RaftCore#advance(Ready)}.</li>
 * </ol>
 */
public record Ready(
        HardState hardState,
        List<Entry> entries,
        List<Message> messages,
        boolean sendBeforePersist,
        List<Entry> committedEntries,
        List<ReadState> readStates,
        List<Failure> failures,
        Snapshot snapshot) {

    /** A Ready without a snapshot. */
    public Ready(HardState hardState, List<Entry> entries, List<Message> messages, boolean sendBeforePersist,
                 List<Entry> committedEntries, List<ReadState> readStates, List<Failure> failures) {
        this(hardState, entries, messages, sendBeforePersist, committedEntries, readStates, failures, null);
    }

    public Ready {
        entries = List.copyOf(entries);
        messages = List.copyOf(messages);
        committedEntries = List.copyOf(committedEntries);
        readStates = List.copyOf(readStates);
        failures = List.copyOf(failures);
    }

    /** Index from which the stored log must be truncated before appending, or 0 if nothing to append. */
    public long truncateFrom() {
        return entries.isEmpty() ? 0 : entries.get(0).index();
    }

    /** Whether the driver must persist and sync before sending (true if there is anything to persist). */
    public boolean mustSync() {
        return hardState != null || !entries.isEmpty() || snapshot != null;
    }
}
