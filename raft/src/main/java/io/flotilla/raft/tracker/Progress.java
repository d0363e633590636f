package io.flotilla.raft.tracker;

/**
 * The leader's view of one follower (Figure 2's nextIndex/matchIndex plus flow control, after
 * etcd-io/raft tracker/progress.go).
 *
 * <p>In {@link State#PROBE} the leader sends one AppendEntries at a time and waits for the answer
 * (it does not know where the follower's log diverges). In {@link State#REPLICATE} it streams
 * entries optimistically, advancing {@code nextIndex} as it sends, bounded by {@link Inflights}.
 * In {@link State#SNAPSHOT} the entries the follower needs are compacted: the leader sent an
 * InstallSnapshot and sends nothing else until the follower answers or the attempt times out.
 */
public final class Progress {

    public enum State { PROBE, REPLICATE, SNAPSHOT }

    private State state = State.PROBE;
    private long matchIndex;
    private long nextIndex;
    /** PROBE only: an AppendEntries is outstanding; wait for its answer or a heartbeat response. */
    private boolean probeSent;
    /** SNAPSHOT only: the index of the snapshot sent. */
    private long pendingSnapshot;
    /** SNAPSHOT only: election timeouts elapsed since it was sent (to resend a lost one). */
    private int snapshotAge;
    /** Heard from since the last check-quorum round. */
    private boolean recentActive;
    private final Inflights inflights;

    public Progress(long nextIndex, int maxInflight) {
        this.nextIndex = nextIndex;
        this.inflights = new Inflights(maxInflight);
    }

    public State state() {
        return state;
    }

    public long matchIndex() {
        return matchIndex;
    }

    public long nextIndex() {
        return nextIndex;
    }

    public Inflights inflights() {
        return inflights;
    }

    public boolean recentActive() {
        return recentActive;
    }

    public void setRecentActive(boolean active) {
        recentActive = active;
    }

    public void becomeProbe() {
        state = State.PROBE;
        nextIndex = matchIndex + 1;
        probeSent = false;
        inflights.reset();
    }

    /** An InstallSnapshot at {@code snapshotIndex} was sent: pause until it is answered. */
    public void becomeSnapshot(long snapshotIndex) {
        state = State.SNAPSHOT;
        pendingSnapshot = snapshotIndex;
        snapshotAge = 0;
        probeSent = false;
        inflights.reset();
    }

    public long pendingSnapshot() {
        return pendingSnapshot;
    }

    /**
     * Once per election timeout while in SNAPSHOT: true once the snapshot has been outstanding for
     * a whole timeout (lost, or the follower is down), so the leader should probe again.
     */
    public boolean snapshotTimedOut() {
        return state == State.SNAPSHOT && ++snapshotAge > 1;
    }

    public void becomeReplicate() {
        state = State.REPLICATE;
        nextIndex = matchIndex + 1;
        probeSent = false;
        inflights.reset();
    }

    /** Whether the leader must hold back AppendEntries to this follower. */
    public boolean isPaused() {
        return switch (state) {
            case PROBE -> probeSent;
            case REPLICATE -> inflights.full();
            case SNAPSHOT -> true;
        };
    }

    /** After sending entries up to {@code lastIndex} (or a probe with none). */
    public void sentEntries(long lastIndex, boolean hadEntries) {
        if (state == State.REPLICATE) {
            if (hadEntries) {
                nextIndex = lastIndex + 1;
                inflights.add(lastIndex);
            }
        } else {
            probeSent = true;
        }
    }

    /** A heartbeat response: the follower is alive, so let one more message through. */
    public void heartbeatAcked() {
        probeSent = false;
        if (state == State.REPLICATE && inflights.full()) {
            inflights.freeFirstOne();
        }
    }

    /**
     * A successful AppendEntriesResponse for {@code index}. Returns false if it is stale (does not
     * advance matchIndex).
     */
    public boolean maybeUpdate(long index) {
        boolean updated = false;
        if (matchIndex < index) {
            matchIndex = index;
            updated = true;
            probeSent = false;
        }
        nextIndex = Math.max(nextIndex, index + 1);
        return updated;
    }

    /**
     * A rejection of prevLogIndex {@code rejected}; {@code matchHint} is the follower's (or the
     * leader's term-adjusted) guess of the last index that may match. Returns false if stale.
     */
    public boolean maybeDecrTo(long rejected, long matchHint) {
        if (state == State.SNAPSHOT) {
            return false; // an answer to an AppendEntries sent before the snapshot: wait for the snapshot's
        }
        if (state == State.REPLICATE) {
            if (rejected <= matchIndex) {
                return false; // stale: that index is known to match
            }
            nextIndex = matchIndex + 1;
            return true;
        }
        if (nextIndex - 1 != rejected) {
            return false; // stale: not the probe we are waiting on
        }
        nextIndex = Math.max(Math.min(rejected, matchHint + 1), matchIndex + 1);
        probeSent = false;
        return true;
    }

    @Override
    public String toString() {
        return state + (state == State.SNAPSHOT ? "@" + pendingSnapshot : "") + "{match=" + matchIndex + " next=" + nextIndex + " inflight=" + inflights.count()
                + (probeSent ? " paused" : "") + "}";
    }
}
