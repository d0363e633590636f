package io.flotilla.raft;

import io.flotilla.raft.Message.ReadIndexResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A leader's ReadIndex requests (§6.4), its own and its followers': held until the leader has
 * committed an entry of its term (step 1), answered at once under a valid lease (§6.4.1) or when
 * the request itself confirms the leader with a quorum, else batched into heartbeat rounds
 * ({@link ReadOnly}) and answered once a quorum acknowledged the round. Split from {@link Leader},
 * which sends the heartbeats and holds the lease.
 */
final class LeaderReads {

    private final Leader leader;
    private final RaftCore core;
    private final long id;
    private final long term;
    private final ReadOnly readOnly = new ReadOnly();
    /** Reads received before this leader committed an entry of its term (§6.4 step 1). */
    private final List<ReadOnly.Request> awaitingTermCommit = new ArrayList<>();

    LeaderReads(Leader leader, RaftCore core) {
        this.leader = leader;
        this.core = core;
        this.id = core.id();
        this.term = core.term();
    }

    void handle(ReadOnly.Request request) {
        if (core.log().term(core.commitIndex()) != term) {
            // §6.4 step 1: until the no-op commits, commitIndex may lag entries committed by
            // earlier leaders.
            awaitingTermCommit.add(request);
            return;
        }
        if (leader.leaseValid()) {
            // §6.4.1: no other leader can exist yet, so our commitIndex is the read point.
            deliver(List.of(new ReadOnly.Completed(request, core.commitIndex())));
            return;
        }
        if (request.from() != id && core.configuration().isQuorum(Set.of(id, request.from()))) {
            // The request itself confirms us: its sender was still in our term (a vote for any
            // other leader would have raised it) after the reads it carries arrived, and we are
            // leader now, so no leader of a later term can have been elected, let alone have
            // committed, before those reads began. With the sender we are a quorum (3-voter
            // clusters), so no heartbeat round is needed; larger ones count it in the round.
            deliver(List.of(new ReadOnly.Completed(request, core.commitIndex())));
            return;
        }
        readOnly.add(request);
        startRoundIfIdle();
    }

    /** The leader committed its first entry of the term: the reads held for it go on. */
    void termCommitted() {
        List<ReadOnly.Request> waiting = new ArrayList<>(awaitingTermCommit);
        awaitingTermCommit.clear();
        for (ReadOnly.Request r : waiting) {
            handle(r);
        }
    }

    /** {@code from} acknowledged the heartbeat round {@code context}. */
    void acknowledged(long from, long context) {
        complete(readOnly.ack(from, context, core.configuration()));
    }

    /** Whether no read waits (the group may quiesce). */
    boolean isIdle() {
        return awaitingTermCommit.isEmpty() && readOnly.isEmpty();
    }

    long roundContext() {
        return readOnly.roundContext();
    }

    long newContext() {
        return readOnly.newContext();
    }

    /** Every read still waiting (the leader steps down). */
    List<ReadOnly.Request> drainAll() {
        List<ReadOnly.Request> all = new ArrayList<>(awaitingTermCommit);
        awaitingTermCommit.clear();
        all.addAll(readOnly.drain());
        return all;
    }

    private void startRoundIfIdle() {
        if (readOnly.maybeStartRound(core.commitIndex(), id)) {
            if (!complete(readOnly.maybeComplete(core.configuration()))) {
                leader.bcastHeartbeat();
            }
        }
    }

    /** Delivers completed reads and starts the next batched round; true if anything completed. */
    private boolean complete(List<ReadOnly.Completed> done) {
        if (done.isEmpty()) {
            return false;
        }
        deliver(done);
        startRoundIfIdle();
        return true;
    }

    private void deliver(List<ReadOnly.Completed> done) {
        for (ReadOnly.Completed c : done) {
            if (c.request().from() == id) {
                core.addReadState(new ReadState(c.request().id(), c.readIndex()));
            } else {
                core.send(new ReadIndexResponse(core.groupId(), id, c.request().from(), term, c.request().id(),
                        c.readIndex()));
            }
        }
    }
}
