package io.flotilla.raft.node;

import io.flotilla.raft.RaftCore;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Rejected;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Linearizable reads of one replica. Reads share ReadIndex rounds (after etcd's
 * linearizableReadLoop): at most one request is in flight; reads that arrive meanwhile queue and
 * share the next one. Each read's index is thus asked for after the read began, which is all
 * linearizability needs, and a follower sends one ReadIndexRequest to the leader per round trip
 * however many reads it serves. A read completes once the state machine has applied its index.
 * Confined to the replica's thread.
 */
final class ReadIndexBatcher {

    /** A ReadIndex request unanswered this long (a lost message) is asked again. */
    static final long READ_RETRY_TICKS = 20;

    private record PendingReadIndex(long startNanos, CompletableFuture<Long> future) {}

    private record PendingRead(long readIndex, long startNanos, CompletableFuture<Long> future) {}

    private final Map<Long, List<PendingReadIndex>> readsById = new HashMap<>();
    private List<PendingReadIndex> queued = new ArrayList<>();
    private final List<PendingRead> awaitingApply = new ArrayList<>();
    private long inFlight;
    private long inFlightSinceTick;
    private long nextReadId;

    /**
     * @param firstReadId the first request id: it must not repeat a previous incarnation's ids
     *                    (a leader's late answer to a request sent before a restart would be
     *                    taken for the answer to a new one with the same id: a stale read)
     */
    ReadIndexBatcher(long firstReadId) {
        this.nextReadId = Math.max(1, firstReadId);
    }

    void add(long startNanos, CompletableFuture<Long> future) {
        queued.add(new PendingReadIndex(startNanos, future));
    }

    /** Whether reads wait for a round that is not in flight yet. */
    boolean wantsRound() {
        return inFlight == 0 && !queued.isEmpty();
    }

    /**
     * Asks the core for one read index on behalf of every queued read (the caller checked
     * {@link #wantsRound()} and brought the core's clock to now). Returns how many reads it asked
     * for, 0 if the core refused them (they failed).
     */
    int ask(RaftCore core, long ticks) {
        List<PendingReadIndex> batch = queued;
        queued = new ArrayList<>();
        long readId = nextReadId++;
        ReadResult r = core.readIndex(readId);
        if (r instanceof Rejected rej) {
            RaftException e = new RaftException(rej.error(), rej.leaderHint());
            batch.forEach(p -> p.future().completeExceptionally(e));
            return 0;
        }
        readsById.put(readId, batch);
        inFlight = readId;
        inFlightSinceTick = ticks;
        return batch.size();
    }

    /** One tick: a request lost on the way (or its answer) is queued again, to be asked anew. */
    void onTick(long ticks) {
        if (inFlight != 0 && ticks - inFlightSinceTick >= READ_RETRY_TICKS) {
            List<PendingReadIndex> lost = readsById.remove(inFlight);
            inFlight = 0;
            if (lost != null) {
                lost.addAll(queued);
                queued = lost;
            }
        }
    }

    /** A Ready's read states: those reads now wait for the state machine to reach the index. */
    void onReadState(ReadState rs) {
        List<PendingReadIndex> batch = readsById.remove(rs.requestId());
        if (batch != null) {
            for (PendingReadIndex p : batch) {
                awaitingApply.add(new PendingRead(rs.readIndex(), p.startNanos(), p.future()));
            }
        }
        if (rs.requestId() == inFlight) {
            inFlight = 0;
        }
    }

    /** The core abandoned the request {@code requestId}: every read of its batch fails. */
    void failed(long requestId, RaftException error) {
        if (requestId == inFlight) {
            inFlight = 0;
        }
        List<PendingReadIndex> batch = readsById.remove(requestId);
        if (batch != null) {
            batch.forEach(p -> p.future().completeExceptionally(error));
        }
    }

    /**
     * Completes the reads whose index is applied; {@code served} hears each one's latency from
     * its start (for metrics).
     */
    void serve(long appliedIndex, long nowNanos, java.util.function.LongConsumer served) {
        if (awaitingApply.isEmpty()) {
            return;
        }
        for (Iterator<PendingRead> it = awaitingApply.iterator(); it.hasNext(); ) {
            PendingRead r = it.next();
            if (r.readIndex() <= appliedIndex) {
                it.remove();
                served.accept(nowNanos - r.startNanos());
                r.future().complete(r.readIndex());
            }
        }
    }

    /** The replica stopped: every read fails. */
    void failAll(Throwable cause) {
        readsById.values().forEach(b -> b.forEach(p -> p.future().completeExceptionally(cause)));
        readsById.clear();
        queued.forEach(p -> p.future().completeExceptionally(cause));
        queued.clear();
        awaitingApply.forEach(r -> r.future().completeExceptionally(cause));
        awaitingApply.clear();
        inFlight = 0;
    }
}
