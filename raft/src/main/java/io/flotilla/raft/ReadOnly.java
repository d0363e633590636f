package io.flotilla.raft;

import io.flotilla.raft.quorum.Configuration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Pending ReadIndex requests on a leader (dissertation §6.4; etcd-io/raft read_only.go).
 *
 * <p>Reads are batched: at most one confirmation round is in flight; reads that arrive meanwhile
 * wait and form the next round, started as soon as the current one completes. A round records the
 * commit index when it starts (its readIndex) and completes once a majority, counting the leader,
 * has answered a heartbeat carrying the round's context (or a later one). Periodic heartbeats carry
 * the in-flight context, so a lost heartbeat only delays a round.
 */
final class ReadOnly {

    /** A read from node {@code from} (the leader itself for local reads) with the caller's id. */
    record Request(long from, long id) {}

    /** A completed request and the index it may be served at. */
    record Completed(Request request, long readIndex) {}

    private List<Request> waiting = new ArrayList<>();
    private List<Request> roundRequests = List.of();
    private long roundContext; // 0 = no round in flight
    private long roundReadIndex;
    private final Set<Long> roundAcks = new HashSet<>();
    // One ReadOnly per leadership: responses from earlier terms never reach it (the core drops
    // stale terms), and within the term contexts only grow.
    private long nextContext = 1;

    void add(Request request) {
        waiting.add(request);
    }

    boolean isEmpty() {
        return roundContext == 0 && waiting.isEmpty();
    }

    /**
     * A fresh context for a heartbeat broadcast (lease reads time every broadcast). Drawn from
     * the same counter as rounds, so an ack of a later broadcast still confirms the round in
     * flight, and an ack of an earlier one never confirms a later round.
     */
    long newContext() {
        return nextContext++;
    }

    /** Context of the round in flight, carried by heartbeats; 0 if none. */
    long roundContext() {
        return roundContext;
    }

    /** Starts a round for the waiting reads if none is in flight. Returns true if one started. */
    boolean maybeStartRound(long commitIndex, long self) {
        if (roundContext != 0 || waiting.isEmpty()) {
            return false;
        }
        roundContext = nextContext++;
        roundReadIndex = commitIndex;
        roundRequests = waiting;
        waiting = new ArrayList<>();
        roundAcks.clear();
        roundAcks.add(self);
        return true;
    }

    /**
     * A heartbeat response with {@code context} from {@code from}. Returns the requests completed
     * by it (empty if the round still lacks a quorum).
     */
    List<Completed> ack(long from, long context, Configuration configuration) {
        if (roundContext == 0 || context < roundContext) {
            return List.of();
        }
        roundAcks.add(from);
        return maybeComplete(configuration);
    }

    /**
     * Completes the round's requests whose confirmations form a quorum (immediately so for a single
     * voter); the round ends when all of them have completed. A follower's ReadIndexRequest was
     * sent in this term after its reads arrived, so it confirms this leader for those reads: a
     * remote request needs the round's acks plus its sender, the leader's own only the acks.
     */
    List<Completed> maybeComplete(Configuration configuration) {
        if (roundContext == 0) {
            return List.of();
        }
        List<Completed> done;
        if (configuration.isQuorum(roundAcks)) {
            done = new ArrayList<>(roundRequests.size());
            for (Request r : roundRequests) {
                done.add(new Completed(r, roundReadIndex));
            }
            roundRequests = List.of();
        } else if (anyConfirmedBySender(configuration)) {
            done = new ArrayList<>();
            List<Request> rest = new ArrayList<>();
            for (Request r : roundRequests) {
                if (!roundAcks.contains(r.from()) && confirmedWith(r.from(), configuration)) {
                    done.add(new Completed(r, roundReadIndex));
                } else {
                    rest.add(r);
                }
            }
            roundRequests = rest;
        } else {
            return List.of(); // the usual case on an ack that does not finish the round: no garbage
        }
        if (roundRequests.isEmpty()) {
            roundContext = 0;
            roundAcks.clear();
        }
        return done;
    }

    private boolean anyConfirmedBySender(Configuration configuration) {
        for (Request r : roundRequests) {
            if (!roundAcks.contains(r.from()) && confirmedWith(r.from(), configuration)) {
                return true;
            }
        }
        return false;
    }

    private boolean confirmedWith(long requester, Configuration configuration) {
        roundAcks.add(requester);
        boolean quorum = configuration.isQuorum(roundAcks);
        roundAcks.remove(requester);
        return quorum;
    }

    /** Every request not yet completed (the leader is stepping down); clears them. */
    List<Request> drain() {
        List<Request> all = new ArrayList<>(roundRequests);
        all.addAll(waiting);
        roundRequests = List.of();
        waiting = new ArrayList<>();
        roundContext = 0;
        roundAcks.clear();
        return all;
    }
}
