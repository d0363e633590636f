package io.flotilla.raft;

import io.flotilla.raft.quorum.Configuration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A leader's read lease (§6.4.1), counted in its own ticks: a quorum (of both halves when joint)
 * acknowledged a heartbeat that this leader sent less than {@code electionTick -
 * maxClockDriftTicks} ticks ago. Each of them reset its election timer when that heartbeat
 * arrived, so with check-quorum's stickiness none of them votes for another candidate (nor
 * campaigns) before electionTick of its own ticks have passed since: no other leader can be
 * elected meanwhile, provided no clock runs more than maxClockDriftTicks faster than ours over
 * that span. Heartbeats are matched to their acknowledgements by read context.
 */
final class Lease {

    private final RaftConfig config;
    private long ticks;
    /** Tick at which the heartbeat broadcast with context c was sent, at [c % length]. */
    private final long[] heartbeatSentAt = new long[64];
    private long lastHeartbeatContext;
    /** Per voter: the send tick of the latest heartbeat it acknowledged. */
    private final Map<Long, Long> ackedAt = new TreeMap<>();

    Lease(RaftConfig config) {
        this.config = config;
    }

    void tick() {
        ticks++;
    }

    /** A heartbeat broadcast with read context {@code context} leaves now. */
    void heartbeatSent(long context) {
        heartbeatSentAt[(int) (context % heartbeatSentAt.length)] = ticks;
        lastHeartbeatContext = context;
    }

    /** {@code voter} acknowledged the heartbeat with {@code context} (0: none, or too old to place). */
    void acknowledged(long voter, long context) {
        if (config.leaseRead() && context != 0 && context <= lastHeartbeatContext
                && lastHeartbeatContext - context < heartbeatSentAt.length) {
            ackedAt.merge(voter, heartbeatSentAt[(int) (context % heartbeatSentAt.length)], Math::max);
        }
    }

    void forgetNonVoters(Configuration c) {
        ackedAt.keySet().removeIf(v -> !c.isVoter(v));
    }

    /** Whether the lease holds now for leader {@code self} in configuration {@code c}. */
    boolean heldBy(long self, Configuration c) {
        long lease = config.electionTick() - config.maxClockDriftTicks();
        Set<Long> fresh = new HashSet<>();
        fresh.add(self);
        for (Map.Entry<Long, Long> e : ackedAt.entrySet()) {
            if (ticks - e.getValue() < lease) {
                fresh.add(e.getKey());
            }
        }
        return c.isQuorum(fresh);
    }
}
