package io.flotilla.raft.sim;

/**
 * Knobs of one simulated run. Times are simulated milliseconds; nodes tick every
 * {@link #tickMillis}.
 *
 * @param nodes              cluster size (3 or 5)
 * @param faultMillis        how long the nemesis injects faults and clients run
 * @param healMillis         quiet time after healing everything, before the liveness checks
 * @param tickMillis         one Raft tick
 * @param maxDelayMillis     usual one-way message delay is uniform in [1, maxDelayMillis]
 * @param dropRate           initial probability of dropping a message (the nemesis varies it)
 * @param duplicateRate      probability of delivering a message twice
 * @param stragglerRate      probability that a message is held back up to 200ms more (reordering)
 * @param crashDuringWriteRate probability that a node crashes between writing a Ready and syncing it
 * @param crashAfterReadyRate probability that a node crashes right after handling a Ready (at any
 *                           protocol step: just after voting, acknowledging, committing...)
 * @param clients            concurrent clients, each with one operation outstanding
 * @param keys               size of the key space (small, to force conflicts)
 * @param preVote            RaftConfig.preVote
 * @param checkQuorum        RaftConfig.checkQuorum
 * @param forgetVoteOnCrash  BUG INJECTION: storage loses votedFor on every crash
 * @param commitOlderTerms   BUG INJECTION: leaders commit by counting replicas of older-term entries
 * @param snapshots          nodes snapshot and compact their logs (how often varies by seed)
 * @param forgetSnapshotOnRestart BUG INJECTION: a restarted node does not restore its state
 *                           machine from the durable snapshot
 * @param membership         an operator changes the membership under load (SimMembership): adds
 *                           fresh nodes as learners, promotes them, removes followers and leaders
 * @param leaseRead          leaders answer reads from a lease (RaftConfig.withLeaseRead(2)); needs checkQuorum
 * @param clockSkewMillis    each node (each incarnation) ticks every tickMillis plus a uniform
 *                           [-clockSkewMillis, +clockSkewMillis]: clocks running at different rates.
 *                           The lease's drift bound (docs/raft.md) with T = 10, 2 drift ticks:
 *                           leader period x 8 &lt;= follower period x 9 (a follower loses up to one
 *                           tick of granularity). With tickMillis 20 a skew of 1 (19..21) is
 *                           inside it; with tickMillis 10 a skew of 1 (9..11) is already slightly
 *                           outside (0: every node ticks in lockstep)
 * @param diskFaultRate      probability that a crash also costs the node, at restart, the
 *                           entries of its last forced write above its durable commit (what the WAL's
 *                           recovery cuts when it finds damage in its final write group: docs/wal.md),
 *                           with the recovery fence the WAL saves; at most a minority fenced at once
 * @param forgetRecoveryFence BUG INJECTION: that cut is silent (no fence), as before issue 14
 * @param stalls             the nemesis also stalls a node's Raft loop (the leader most often) for
 *                           50..750 ms, as a slow force, a large apply batch or a GC pause would:
 *                           messages and client requests queue, ticks are missed; on resuming the
 *                           node first catches up on the missed ticks (at most two election
 *                           timeouts of them), then handles what queued, as RaftNode does
 * @param stallResumeInputsFirst BUG INJECTION: a stalled node resumes the way RaftNode did before
 *                           issue 14: the queued inputs first, the missed ticks after them
 * @param quiesce            idle groups quiesce (RaftConfig.withQuiesce); the simulator then also
 *                           plays the transport's liveness: every 100 ms a node hears which peers
 *                           it cannot reach (down, or a link blocked either way), as a peer link
 *                           that went silent reports it
 */
public record SimOptions(
        int nodes,
        long faultMillis,
        long healMillis,
        long tickMillis,
        long maxDelayMillis,
        double dropRate,
        double duplicateRate,
        double stragglerRate,
        double crashDuringWriteRate,
        double crashAfterReadyRate,
        int clients,
        int keys,
        boolean preVote,
        boolean checkQuorum,
        boolean forgetVoteOnCrash,
        boolean commitOlderTerms,
        boolean snapshots,
        boolean forgetSnapshotOnRestart,
        boolean membership,
        boolean leaseRead,
        long clockSkewMillis,
        double diskFaultRate,
        boolean forgetRecoveryFence,
        boolean stalls,
        boolean stallResumeInputsFirst,
        boolean quiesce) {

    public static SimOptions defaults(int nodes) {
        return new SimOptions(nodes, 3_000, 3_000, 10, 12, 0.02, 0.02, 0.02, 0.002, 0.0005, 3, 3, true, true, false, false, true, false, false, false, 0, 0, false, false, false, false);
    }

    public SimOptions withFaultMillis(long millis) {
        return new SimOptions(nodes, millis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withElection(boolean newPreVote, boolean newCheckQuorum) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, newPreVote, newCheckQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withCrashAfterReadyRate(double rate) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, rate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withStragglerRate(double rate) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate,
                rate, crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash,
                commitOlderTerms, snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withNetwork(long newMaxDelayMillis, double newDropRate) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, newMaxDelayMillis, newDropRate, duplicateRate,
                stragglerRate, crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum,
                forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withSnapshots(boolean newSnapshots, boolean newForgetSnapshotOnRestart) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                newSnapshots, newForgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withMembership(boolean newMembership) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, newMembership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withLeaseRead(boolean newLeaseRead) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, newLeaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withBugs(boolean newForgetVoteOnCrash, boolean newCommitOlderTerms) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, newForgetVoteOnCrash, newCommitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withClockSkewMillis(long newClockSkewMillis) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, newClockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withStalls(boolean newStalls, boolean newStallResumeInputsFirst) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, newStalls, newStallResumeInputsFirst, quiesce);
    }

    public SimOptions withClients(int newClients, int newKeys) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, newClients, newKeys, preVote, checkQuorum, forgetVoteOnCrash,
                commitOlderTerms, snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls,
                stallResumeInputsFirst, quiesce);
    }

    public SimOptions withTickMillis(long newTickMillis) {
        return new SimOptions(nodes, faultMillis, healMillis, newTickMillis, maxDelayMillis, dropRate, duplicateRate,
                stragglerRate, crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum,
                forgetVoteOnCrash, commitOlderTerms, snapshots, forgetSnapshotOnRestart, membership, leaseRead,
                clockSkewMillis, diskFaultRate, forgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withDiskFaults(double newDiskFaultRate, boolean newForgetRecoveryFence) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, newDiskFaultRate,
                newForgetRecoveryFence, stalls, stallResumeInputsFirst, quiesce);
    }

    public SimOptions withQuiesce(boolean newQuiesce) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence,
                stalls, stallResumeInputsFirst, newQuiesce);
    }
}
