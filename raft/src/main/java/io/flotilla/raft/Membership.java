package io.flotilla.raft;

import io.flotilla.raft.log.RaftLog;
import io.flotilla.raft.quorum.Configuration;
import java.util.ArrayList;
import java.util.List;

/**
 * Which configuration is in effect on this node, and which configuration entries in its log are
 * not yet known committed.
 *
 * <p>A configuration takes effect when its entry is <em>committed</em> (etcd's choice; the
 * dissertation switches on append). The core always knows what is committed, so the quorum in
 * force is a function of commitIndex and needs no rollback when an uncommitted suffix is
 * truncated. What makes this safe with joint consensus (see docs/raft.md): a leader proposes a
 * configuration entry only once every earlier one is committed, so in any log every
 * configuration entry but the last is committed. This class applies that rule eagerly
 * ({@link #impliedCommit}): a node that holds the entry leaving a joint configuration knows the
 * entry that entered it is committed even if its commitIndex lags (after a restart, or when a
 * new leader's commitIndex is stale), so it never uses C<sub>old</sub> while others use
 * C<sub>new</sub>.
 */
final class Membership {

    private final RaftLog log;
    /** In effect: the result of the last committed configuration entry (or snapshot/bootstrap). */
    private Configuration configuration;
    /** As of the state machine's applied index: what a local snapshot records. */
    private Configuration applied;
    /** Indexes of CONF_CHANGE entries in the log above commitIndex, ascending. */
    private final List<Long> uncommitted = new ArrayList<>();
    /** At restart: the durable commit index, raised to what the configuration entries imply. */
    private final long restartCommit;

    /**
     * Rebuilds from durable state: the snapshot's configuration (else the bootstrap voters), then
     * every configuration entry of the log up to {@code commit}.
     */
    Membership(RaftLog log, Configuration bootstrap, long commit, long appliedIndex) {
        this.log = log;
        Configuration base = log.snapshot().configuration().isEmpty() ? bootstrap : log.snapshot().configuration();
        List<Entry> confEntries = new ArrayList<>();
        long from = log.firstIndex();
        long last = log.lastIndex();
        while (from <= last) {
            List<Entry> batch = log.slice(from, last + 1, 1 << 20);
            for (Entry e : batch) {
                if (e.type() == EntryType.CONF_CHANGE) {
                    confEntries.add(e);
                }
            }
            from += batch.size();
        }
        Configuration current = base;
        Configuration atApplied = base;
        long effectiveCommit = Math.max(commit, impliedCommit(confEntries.stream().map(Entry::index).toList()));
        for (Entry e : confEntries) {
            Configuration c = ConfEntry.decode(e.data()).configuration();
            if (e.index() <= effectiveCommit) {
                current = c;
            } else {
                uncommitted.add(e.index());
            }
            if (e.index() <= appliedIndex) {
                atApplied = c;
            }
        }
        this.configuration = current;
        this.applied = atApplied;
        this.restartCommit = effectiveCommit;
    }

    long restartCommit() {
        return restartCommit;
    }

    Configuration configuration() {
        return configuration;
    }

    Configuration applied() {
        return applied;
    }

    /** Whether a configuration entry is in the log but not known committed. */
    boolean hasUncommitted() {
        return !uncommitted.isEmpty();
    }

    /**
     * Every configuration entry but the last in {@code confIndexes} is committed (a leader proposes
     * one only after the previous committed); 0 if there is at most one.
     */
    static long impliedCommit(List<Long> confIndexes) {
        return confIndexes.size() < 2 ? 0 : confIndexes.get(confIndexes.size() - 2);
    }

    /** Entries were appended to the log (possibly replacing a suffix). Returns the implied commit. */
    long appended(List<Entry> entries) {
        if (entries.isEmpty()) {
            return 0;
        }
        long first = entries.get(0).index();
        uncommitted.removeIf(i -> i >= first); // truncated: never committed, never in effect
        for (Entry e : entries) {
            if (e.type() == EntryType.CONF_CHANGE) {
                uncommitted.add(e.index());
            }
        }
        return impliedCommit(uncommitted);
    }

    /** commitIndex advanced to {@code commit}: entries up to it take effect. True if the configuration changed. */
    boolean committed(long commit) {
        boolean changed = false;
        while (!uncommitted.isEmpty() && uncommitted.get(0) <= commit) {
            long index = uncommitted.remove(0);
            Entry e = log.slice(index, index + 1, Long.MAX_VALUE).get(0);
            InvariantViolation.check(e.type() == EntryType.CONF_CHANGE, "entry %d is not a configuration entry", index);
            Configuration next = ConfEntry.decode(e.data()).configuration();
            changed |= !next.equals(configuration);
            configuration = next;
        }
        return changed;
    }

    /** The log was replaced by a snapshot (which covers only committed entries). */
    boolean restored(Snapshot s) {
        uncommitted.clear();
        if (s.configuration().isEmpty() || s.configuration().equals(configuration)) {
            // No configuration entry up to the snapshot: whatever bootstrap we had still holds.
            return false;
        }
        configuration = s.configuration();
        return true;
    }

    /** The driver applied these committed entries (or installed a snapshot). */
    void appliedEntries(List<Entry> entries) {
        for (Entry e : entries) {
            if (e.type() == EntryType.CONF_CHANGE) {
                applied = ConfEntry.decode(e.data()).configuration();
            }
        }
    }

    void appliedSnapshot(Snapshot s) {
        if (!s.configuration().isEmpty()) {
            applied = s.configuration();
        }
    }
}
