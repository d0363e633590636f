package io.flotilla.raft;

import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Static configuration of one node of one group. Ticks are the only unit of time in the core.
 *
 * @param groupId        the Raft group, carried by every message
 * @param nodeId         this node (positive)
 * @param voters         initial voting members, including {@code nodeId}
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
        RandomGenerator random) {

    public RaftConfig {
        voters = Set.copyOf(voters);
        Objects.requireNonNull(random, "random");
        if (nodeId <= 0 || !voters.contains(nodeId) || voters.stream().anyMatch(v -> v <= 0)) {
            throw new IllegalArgumentException("node " + nodeId + " must be one of the positive voters " + voters);
        }
        if (heartbeatTick <= 0 || electionTick <= heartbeatTick) {
            throw new IllegalArgumentException("need 0 < heartbeatTick < electionTick");
        }
        if (maxSizePerMsg <= 0 || maxEntriesPerMsg <= 0 || maxInflight <= 0 || maxUncommittedEntries <= 0
                || maxApplyBytes <= 0 || applied < 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /** Defaults suited to tests and a LAN: T = 10 ticks, heartbeat every tick, pre-vote and check-quorum on. */
    public static RaftConfig of(long groupId, long nodeId, Set<Long> voters, RandomGenerator random) {
        return new RaftConfig(groupId, nodeId, voters, 10, 1, 64 * 1024, 64, 16, 4096, 1 << 20,
                true, true, 0, random);
    }

    public RaftConfig withApplied(long newApplied) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg,
                maxEntriesPerMsg, maxInflight, maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum,
                newApplied, random);
    }

    public RaftConfig withLimits(int sizePerMsg, int entriesPerMsg, int inflight) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, sizePerMsg,
                entriesPerMsg, inflight, maxUncommittedEntries, maxApplyBytes, preVote, checkQuorum,
                applied, random);
    }

    public RaftConfig withElection(boolean newPreVote, boolean newCheckQuorum) {
        return new RaftConfig(groupId, nodeId, voters, electionTick, heartbeatTick, maxSizePerMsg,
                maxEntriesPerMsg, maxInflight, maxUncommittedEntries, maxApplyBytes, newPreVote, newCheckQuorum,
                applied, random);
    }
}
