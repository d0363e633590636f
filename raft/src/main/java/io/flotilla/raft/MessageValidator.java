package io.flotilla.raft;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.HeartbeatResponse;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Message.ReadIndexResponse;
import io.flotilla.raft.Message.RequestVote;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.quorum.Configuration;
import java.util.List;
import java.util.Optional;

/**
 * Stateless checks of a peer's message: what no correct node ever sends, whatever the state of
 * the receiver (ranges, index/term pairs, AppendEntries entries following prevLogIndex one by one,
 * addressing). Checks that need this node's state (is the sender a member, is a claimed match
 * within our log) are the core's, in {@link RaftCore#step}.
 *
 * <p>Pure and cheap (one pass over the entries; configuration entries are decoded), so it runs
 * twice: on the network thread, so that junk never queues for the Raft loop, and first thing in
 * {@link RaftCore#step}, so that the core is safe on every path (simulator, in-process transport).
 * That is also why it lives next to the core rather than in {@code node/}.
 */
public final class MessageValidator {

    private static final Optional<DropReason> OK = Optional.empty();
    /**
     * No term or index reaches this (2^62: an election a nanosecond for a century and more). A
     * larger one is garbage, and taking it would overflow this node's arithmetic later: a term
     * of Long.MAX_VALUE, once adopted, makes the next campaign's term negative.
     */
    static final long LIMIT = 1L << 62;

    private MessageValidator() {}

    /** Empty if {@code m} may be stepped into the core of node {@code self} of group {@code groupId}. */
    public static Optional<DropReason> validate(Message m, long groupId, long self) {
        Optional<DropReason> header = header(m.groupId(), m.from(), m.to(), groupId, self);
        if (header.isPresent()) {
            return header;
        }
        // Only a node that never heard of any term answers in term 0 (a refused pre-vote).
        if (!inRange(m.term()) || (m.term() == 0 && !(m instanceof RequestVoteResponse))) {
            return Optional.of(DropReason.BAD_INDEX);
        }
        if (m instanceof AppendEntries ae) {
            return appendEntries(ae);
        } else if (m instanceof AppendEntriesResponse r) {
            // A rejection's hint is an index at or below the rejected one, of a term the sender had.
            boolean ok = inRange(r.index()) && inRange(r.rejectHintIndex()) && inRange(r.rejectHintTerm())
                    && r.rejectHintTerm() <= r.term() && (r.success() || r.rejectHintIndex() <= r.index());
            return ok ? OK : Optional.of(DropReason.BAD_INDEX);
        } else if (m instanceof RequestVote rv) {
            return point(rv.lastLogIndex(), rv.lastLogTerm(), rv.term());
        } else if (m instanceof Heartbeat hb) {
            return inRange(hb.commitIndex()) && hb.readContext() >= 0 ? OK : Optional.of(DropReason.BAD_INDEX);
        } else if (m instanceof HeartbeatResponse r) {
            return r.readContext() >= 0 ? OK : Optional.of(DropReason.BAD_INDEX);
        } else if (m instanceof ReadIndexResponse r) {
            return inRange(r.readIndex()) ? OK : Optional.of(DropReason.BAD_INDEX);
        } else if (m instanceof InstallSnapshot is) {
            Snapshot s = is.snapshot();
            if (s.isEmpty() || s.term() > is.term() || !inRange(s.index())) {
                return Optional.of(DropReason.BAD_INDEX);
            }
            return validIds(s.configuration()) ? OK : Optional.of(DropReason.BAD_CONF_ENTRY);
        }
        return OK; // RequestVoteResponse, ReadIndexRequest, TimeoutNow: the header is all there is
    }

    /**
     * The fields every message and snapshot chunk carries: for this group, to this node, from a
     * node id that is not ours.
     */
    public static Optional<DropReason> header(long msgGroup, long from, long to, long groupId, long self) {
        if (msgGroup != groupId || to != self) {
            return Optional.of(DropReason.MISROUTED);
        }
        if (from <= 0 || from == self) {
            return Optional.of(DropReason.BAD_SENDER);
        }
        return OK;
    }

    /**
     * A log position (index, term) as a sender in {@code msgTerm} can hold it: index 0 has term 0,
     * any other index a term of at least 1 and at most the sender's.
     */
    private static Optional<DropReason> point(long index, long term, long msgTerm) {
        boolean ok = inRange(index) && term >= 0 && (index == 0) == (term == 0) && term <= msgTerm;
        return ok ? OK : Optional.of(DropReason.BAD_INDEX);
    }

    private static Optional<DropReason> appendEntries(AppendEntries ae) {
        Optional<DropReason> prev = point(ae.prevLogIndex(), ae.prevLogTerm(), ae.term());
        if (prev.isPresent()) {
            return prev;
        }
        if (!inRange(ae.leaderCommit())) {
            return Optional.of(DropReason.BAD_INDEX);
        }
        // Figure 2 takes entries to be the ones right after prevLogIndex; the receiver's append
        // relies on it (a gap would leave a hole in the log, a wrong start misplace every entry).
        List<Entry> entries = ae.entries();
        long expectedIndex = ae.prevLogIndex() + 1;
        long lastTerm = ae.prevLogTerm();
        for (Entry e : entries) {
            if (e.index() != expectedIndex) {
                return Optional.of(DropReason.ENTRIES_NOT_CONTIGUOUS);
            }
            // Log terms never decrease along a log, and no leader holds entries of a later term.
            if (e.term() < lastTerm || e.term() > ae.term()) {
                return Optional.of(DropReason.ENTRY_TERM);
            }
            if (e.type() == EntryType.CONF_CHANGE && !decodes(e)) {
                return Optional.of(DropReason.BAD_CONF_ENTRY);
            }
            expectedIndex++;
            lastTerm = e.term();
        }
        return OK;
    }

    private static boolean inRange(long termOrIndex) {
        return termOrIndex >= 0 && termOrIndex <= LIMIT;
    }

    /** A configuration entry is decoded by every node when it commits: garbage must not get in. */
    private static boolean decodes(Entry e) {
        try {
            return validIds(ConfEntry.decode(e.data()).configuration());
        } catch (RuntimeException bad) {
            return false;
        }
    }

    private static boolean validIds(Configuration c) {
        return c.members().stream().allMatch(id -> id > 0);
    }
}
