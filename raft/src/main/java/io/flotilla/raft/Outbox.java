package io.flotilla.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * What the core owes its driver between two Readies: messages to send, read states to serve and
 * requests it abandoned, and whether a queued message acknowledges state that must be durable
 * before it leaves (a vote, appended entries, a snapshot). {@link #take} hands them over in a
 * {@link Ready} and starts afresh.
 */
final class Outbox {

    private List<Message> msgs = new ArrayList<>();
    private List<ReadState> readStates = new ArrayList<>();
    private List<Failure> failures = new ArrayList<>();
    private boolean msgsNeedPersist;

    void send(Message m) {
        msgs.add(m);
    }

    void readState(ReadState rs) {
        readStates.add(rs);
    }

    void failure(Failure f) {
        failures.add(f);
    }

    void ackAfterPersist() {
        msgsNeedPersist = true;
    }

    boolean isEmpty() {
        return msgs.isEmpty() && readStates.isEmpty() && failures.isEmpty();
    }

    /**
     * The Ready of everything owed, with the core's part of it. {@code leaderMaySendFirst}: this is
     * a leader whose term and vote did not change, so its messages may leave before its own write
     * is durable (§10.2.1) unless one of them acknowledges state that must be durable first.
     */
    Ready take(HardState hardState, List<Entry> entries, boolean leaderMaySendFirst, List<Entry> committed,
               Snapshot snapshot) {
        Ready rd = new Ready(hardState, entries, msgs, leaderMaySendFirst && !msgsNeedPersist, committed, readStates,
                failures, snapshot);
        msgs = new ArrayList<>();
        readStates = new ArrayList<>();
        failures = new ArrayList<>();
        msgsNeedPersist = false;
        return rd;
    }
}
