package io.flotilla.raft;

import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Static configuration of one node of one group. Ticks are the only unit of time in the core.
 *
 * @param groupId        the Raft group, carried by every message
 * @param nodeId         this node (positive)
 * @param voters         bootstrap voting members, including {@code nodeId}; empty for a node joining an
 *                       existing group (it learns the configuration from the leader and never
 *                       campaigns before). Ignored once a configuration entry or a snapshot with a
 *                       configuration is in the log.
 * @param electionTick   T: a follower campaigns after a random timeout in [T, 2T) ticks without a leader
 * @param heartbeatTick  a leader sends heartbeats every this many ticks; must be &lt; electionTick
 * @param maxSizePerMsg  soft byte limit of the entries of one AppendEntries (at least one entry is sent)
 * @param maxEntriesPerMsg limit of entries in one AppendEntries
 * @param maxInflight    AppendEntries messages in flight per follower in replicate state
 * @param maxUncommittedEntries proposals are refused (OVERLOADED) beyond this many uncommitted entries
 * @param maxApplyBytes  soft byte limit of the committed entries in one Ready
 * @param preVote        run the pre-vote phase before campaigning (§9.6)
 * @param checkQuorum    leaders step down without a quorum heard from in an election timeout, and
 *                       followers with a live leader ignore vote requests (§6.2, §9.6)
 * @param applied        the index the state machine had applied when this core was built
 * @param random         the only source of randomness; seeded by the caller so runs replay
 * @param leaseRead      a leader with a valid lease answers ReadIndex without a heartbeat round
 *                       (requires checkQuorum; see docs/raft.md for the clock assumption)
 * @param maxClockDriftTicks how much shorter than electionTick the lease is: the bound on how many
 *                       ticks a follower's election timer may run ahead of the leader's over one
 *                       election timeout
 */
public record RaftConfig(
        long groupId,
        long nodeId,
        Set<Long> voters,
        int electionTick,
        int heartbeatTick,
        int maxSizePerMsg,
        int maxEntriesPerMsg,
        int maxInflight,
        int maxUncommittedEntries,
        int maxApplyBytes,
        boolean preVote,
        boolean checkQuorum,
        long applied,
        RandomGenerator random,
        boolean leaseRead,
        int maxClockDriftTicks,
        boolean quiesce) {

    public RaftConfig {
        voters = Set.copyOf(voters);
        Objects.requireNonNull(random, "random");
        if (nodeId <= 0 || !(voters.isEmpty() || voters.contains(nodeId)) || voters.stream().anyMatch(v -> v <= 0)) {
            throw new IllegalArgumentException("node " + nodeId + " must be one of the positive voters " + voters
                    + " (or voters empty: a joining node)");
        }
        if (leaseRead && (!checkQuorum || maxClockDriftTicks < 0 || maxClockDriftTicks >= electionTick)) {
            throw new IllegalArgumentException("lease reads need checkQuorum and 0 <= maxClockDriftTicks < electionTick");
        }
        if (heartbeatTick <= 0 || electionTick <= heartbeatTick) {
            throw new IllegalArgumentException("need 0 < heartbeatTick < electionTick");
        }
        if (maxSizePerMsg <= 0 || maxEntriesPerMsg <= 0 || maxInflight <= 0 || maxUncommittedEntries <= 0
                || maxApplyBytes <= 0 || applied < 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /** Without lease reads (the constructor before they existed). */
    public RaftConfig(long groupId, long nodeId, Set<Long> voters, int electionTick, int heartbeatTick,
                      int maxSizePerMsg, int maxEntriesPerMsg, int maxInflight, int maxUncommittedEntries,
                      int maxApplyBytes, boolean preVote, boolean checkQuorum, long applied, RandomGenerator random) {
        this(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg, maxEntriesPerMsg, maxInflight,
                maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum, applied, random, false, 0, false);
    }

    /** Without quiescence (the constructor before it existed). */
    public RaftConfig(long groupId, long nodeId, Set<Long> voters, int electionTick, int heartbeatTick,
                      int maxSizePerMsg, int maxEntriesPerMsg, int maxInflight, int maxUncommittedEntries,
                      int maxApplyBytes, boolean preVote, boolean checkQuorum, long applied, RandomGenerator random,
                      boolean leaseRead, int maxClockDriftTicks) {
        this(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg, maxEntriesPerMsg, maxInflight,
                maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum, applied, random, leaseRead,
                maxClockDriftTicks, false);
    }

    /**
     * Quiescence on: an idle group's leader stops heartbeating and its followers stop their
     * election timers, until any proposal, read or message wakes them (docs/raft.md, Quiescence).
     * For nodes hosting many groups, most of them idle.
     */
    public RaftConfig withQuiesce(boolean on) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg,
                maxEntriesPerMsg, maxInflight, maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum,
                applied, random, leaseRead, maxClockDriftTicks, on);
    }

    /**
     * Defaults suited to tests and a LAN: T = 10 ticks, heartbeat every tick, pre-vote and
     * check-quorum on, lease reads off.
     */
    public static RaftConfig of(long groupId, long nodeId, Set<Long> voters, RandomGenerator random) {
        return new RaftConfig(groupId, nodeId, voters, 10, 1, 64 * 1024, 64, 16, 4096, 1 << 20,
                true, true, 0, random);
    }

    /** A node joining an existing group: no configuration until the leader's log or snapshot brings one. */
    public static RaftConfig joining(long groupId, long nodeId, RandomGenerator random) {
        return of(groupId, nodeId, Set.of(), random);
    }

    /** Lease reads on, with a lease of electionTick - maxClockDriftTicks ticks. */
    public RaftConfig withLeaseRead(int newMaxClockDriftTicks) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg,
                maxEntriesPerMsg, maxInflight, maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum,
                applied, random, true, newMaxClockDriftTicks, quiesce);
    }

    public RaftConfig withApplied(long newApplied) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg,
                maxEntriesPerMsg, maxInflight, maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum,
                newApplied, random, leaseRead, maxClockDriftTicks, quiesce);
    }

    public RaftConfig withLimits(int sizePerMsg, int entriesPerMsg, int inflight) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, sizePerMsg,
                entriesPerMsg, inflight, maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum,
                applied, random, leaseRead, maxClockDriftTicks, quiesce);
    }

    public RaftConfig withElection(boolean newPreVote, boolean newCheckQuorum) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg,
                maxEntriesPerMsg, maxInflight, maxUncommittedEntries, maxApplyBytes, newPreVote, newCheckQuorum,
                applied, random, leaseRead && newCheckQuorum, maxClockDriftTicks, quiesce);
    }
}
