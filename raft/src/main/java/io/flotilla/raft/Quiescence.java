package io.flotilla.raft;

import java.util.HashSet;
import java.util.Set;

/**
 * Quiescence (RaftConfig.quiesce; after CockroachDB's): an idle group's ticks do nothing, so a
 * node can host many idle groups for no heartbeats and no elections. A leader quiesces when its
 * group is idle ({@code Leader.canQuiesce}); a follower when its leader's quiesce heartbeat finds
 * it holding the whole log. Any proposal, read, request or message but a quiesce heartbeat wakes
 * the group, and so does the driver reporting that a quiesced follower's leader is unreachable.
 *
 * <p>Also the peers the driver reported unreachable and not heard from since: a dead node must not
 * keep every group awake, so a leader quiesces without waiting for them.
 */
final class Quiescence {

    private boolean quiesced;
    private final Set<Long> unreachable = new HashSet<>();

    boolean isQuiesced() {
        return quiesced;
    }

    void quiesce() {
        quiesced = true;
    }

    /** Whether it was quiesced (the caller then restarts its timers). */
    boolean wake() {
        boolean was = quiesced;
        quiesced = false;
        return was;
    }

    /** A message from {@code peer} arrived: it is reachable. */
    void heardFrom(long peer) {
        unreachable.remove(peer);
    }

    /** The driver reports {@code peer} unreachable; whether this group is quiesced. */
    boolean unreachable(long peer) {
        unreachable.add(peer);
        return quiesced;
    }

    /** The driver reports {@code peer} reachable again; whether it had been reported unreachable. */
    boolean reachable(long peer) {
        return unreachable.remove(peer);
    }

    boolean isUnreachable(long peer) {
        return unreachable.contains(peer);
    }
}
