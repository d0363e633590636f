package io.flotilla.raft.node;

import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.RaftError;
import io.flotilla.raft.quorum.Configuration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The writes and membership changes a replica accepted and whose callers wait for them to apply.
 * An entry is matched to its proposal by (index, term): another leader's entry at the same index
 * means ours was never committed. Confined to the replica's thread.
 */
final class ProposalTracker {

    private record PendingWrite(long term, long startNanos, CompletableFuture<Long> future) {}

    /** A membership change: completes when its configuration is final (the joint one left). */
    private record PendingConfChange(long term, CompletableFuture<Configuration> future) {}

    private final Map<Long, PendingWrite> writesByIndex = new HashMap<>();
    private final Map<Long, PendingConfChange> confChangesByIndex = new HashMap<>();
    /** Changes whose joint configuration was entered: they complete when it is left. */
    private final List<CompletableFuture<Configuration>> confChangesAwaitingLeave = new ArrayList<>();

    void write(long index, long term, long startNanos, CompletableFuture<Long> future) {
        writesByIndex.put(index, new PendingWrite(term, startNanos, future));
    }

    void confChange(long index, long term, CompletableFuture<Configuration> future) {
        confChangesByIndex.put(index, new PendingConfChange(term, future));
    }

    /** The start time of this node's proposal committed as {@code e}, or -1 if it is not ours. */
    long proposedAt(Entry e) {
        PendingWrite w = writesByIndex.get(e.index());
        return w != null && w.term() == e.term() ? w.startNanos() : -1;
    }

    /**
     * {@code e} was applied: completes the proposal waiting on its index. Returns the start time
     * of this node's proposal applied as {@code e}, or -1 if it was not ours.
     */
    long applied(Entry e) {
        if (e.type() == EntryType.CONF_CHANGE) {
            confChangeApplied(e);
        }
        PendingWrite w = writesByIndex.remove(e.index());
        if (w == null) {
            return -1;
        }
        if (w.term() != e.term()) {
            // Another leader's entry took the index: ours was never committed.
            w.future().completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0));
            return -1;
        }
        w.future().complete(e.index());
        return w.startNanos();
    }

    private void confChangeApplied(Entry e) {
        ConfEntry ce = ConfEntry.decode(e.data());
        if (ce.leaveJoint()) {
            confChangesAwaitingLeave.forEach(f -> f.complete(ce.configuration()));
            confChangesAwaitingLeave.clear();
        }
        PendingConfChange p = confChangesByIndex.remove(e.index());
        if (p == null) {
            return;
        }
        if (p.term() != e.term()) {
            p.future().completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0));
        } else if (ce.configuration().isJoint()) {
            confChangesAwaitingLeave.add(p.future());
        } else {
            p.future().complete(ce.configuration());
        }
    }

    /** The core abandoned the proposal at {@code index}. */
    void failed(long index, RaftError error) {
        CompletableFuture<?> f = null;
        PendingWrite w = writesByIndex.remove(index);
        if (w != null) {
            f = w.future();
        } else {
            PendingConfChange c = confChangesByIndex.remove(index);
            if (c != null) {
                f = c.future();
            }
        }
        if (f != null) {
            f.completeExceptionally(new RaftException(error, 0));
        }
    }

    /**
     * A snapshot from the leader replaced the state up to {@code index}: proposals waiting on an
     * index it covers will never be applied here one by one, so their outcome is unknown to this
     * node (the entry there may or may not be ours).
     */
    void snapshotInstalled(long index) {
        RaftException unknown = new RaftException(RaftError.LEADERSHIP_LOST, 0);
        for (Iterator<Map.Entry<Long, PendingWrite>> it = writesByIndex.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, PendingWrite> w = it.next();
            if (w.getKey() <= index) {
                it.remove();
                w.getValue().future().completeExceptionally(unknown);
            }
        }
        for (Iterator<Map.Entry<Long, PendingConfChange>> it = confChangesByIndex.entrySet().iterator();
             it.hasNext(); ) {
            Map.Entry<Long, PendingConfChange> c = it.next();
            if (c.getKey() <= index) {
                it.remove();
                c.getValue().future().completeExceptionally(unknown);
            }
        }
        confChangesAwaitingLeave.forEach(f -> f.completeExceptionally(unknown));
        confChangesAwaitingLeave.clear();
    }

    /** The replica stopped: nobody waiting may hang. The outcome of every write is unknown. */
    void failAll(Throwable cause) {
        writesByIndex.values().forEach(w -> w.future().completeExceptionally(cause));
        writesByIndex.clear();
        confChangesByIndex.values().forEach(c -> c.future().completeExceptionally(cause));
        confChangesByIndex.clear();
        confChangesAwaitingLeave.forEach(f -> f.completeExceptionally(cause));
        confChangesAwaitingLeave.clear();
    }
}
