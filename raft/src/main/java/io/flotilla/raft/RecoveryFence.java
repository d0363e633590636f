package io.flotilla.raft;

/**
 * A node's log lost a suffix that it may have acknowledged (the WAL's recovery cut it: see
 * docs/wal.md, "Cuts that may lose forced entries"), and the node has not yet got those entries
 * back. While a fence is up the node grants no vote or pre-vote and never campaigns (docs/raft.md,
 * "Recovery after a cut"). Part of the {@link HardState}, so a restart keeps it up.
 *
 * @param fromIndex  first index lost (0: no fence)
 * @param untilIndex highest index that may have been lost (an upper bound; for the operator only)
 * @param term       the durable term when the suffix was lost: every acknowledgement of a lost
 *                   entry was sent in this term or earlier. The fence comes down once the log
 *                   holds an entry of a later term.
 */
public record RecoveryFence(long fromIndex, long untilIndex, long term) {

    public static final RecoveryFence NONE = new RecoveryFence(0, 0, 0);

    public RecoveryFence {
        boolean none = fromIndex == 0 && untilIndex == 0 && term == 0;
        if (!none && (fromIndex <= 0 || untilIndex < fromIndex || term < 0)) {
            throw new IllegalArgumentException("bad recovery fence: from " + fromIndex + " until " + untilIndex
                    + " term " + term);
        }
    }

    public boolean isUp() {
        return fromIndex != 0;
    }

    /**
     * The fence a core starts behind (docs/raft.md, "Recovery after a cut"): none if the log already
     * holds an entry of a later term, or if this node is the only voter (no replica could give the
     * entries back: refusing to run would save nothing). With the fence up the core starts in a term
     * after {@link #term}: that ends every leadership that counted the lost acknowledgements (such a
     * leader's matchIndex would tell the node to commit past its log, and it would ignore the node's
     * rejections as stale), so only a leader elected without this node can bring the fence down.
     */
    public RecoveryFence atStart(long lastLogTerm, boolean soleVoter) {
        return liftedBy(lastLogTerm) || soleVoter ? NONE : this;
    }

    /**
     * Whether a log whose last entry has term {@code lastLogTerm} may come out from behind this fence.
     * The core asks after each {@code advance}, so the entry is durable before the fence comes down.
     * An entry of a term after {@link #term} was not in the log when the suffix was lost (no entry
     * had a later term than the durable one), so it came from that term's leader, and by Log
     * Matching the log up to it is that leader's: it holds every entry that can ever commit among
     * those this node acknowledged (proof in docs/raft.md).
     */
    public boolean liftedBy(long lastLogTerm) {
        return isUp() && lastLogTerm > term;
    }

    /** One fence covering both: the lowest first index, the highest bound and term. */
    public RecoveryFence merge(RecoveryFence other) {
        if (!other.isUp()) {
            return this;
        }
        if (!isUp()) {
            return other;
        }
        return new RecoveryFence(Math.min(fromIndex, other.fromIndex), Math.max(untilIndex, other.untilIndex),
                Math.max(term, other.term));
    }
}
