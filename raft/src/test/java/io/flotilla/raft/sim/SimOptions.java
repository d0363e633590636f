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
 *                           With tickMillis 10, a skew of 1 keeps any two clocks within 11/9 of
 *                           each other, inside the lease's drift bound (2 of 10 election ticks);
 *                           a larger skew breaks the bound (0: every node ticks in lockstep)
 * @param diskFaultRate      probability that a crash also costs the node, at restart, the
 *                           entries of its last forced write above its durable commit (what the WAL's
 *                           recovery cuts when it finds damage in its final write group: docs/wal.md),
 *                           with the recovery fence the WAL saves; at most a minority fenced at once
 * @param forgetRecoveryFence BUG INJECTION: that cut is silent (no fence), as before issue 14
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
        boolean forgetRecoveryFence) {

    public static SimOptions defaults(int nodes) {
        return new SimOptions(nodes, 3_000, 3_000, 10, 12, 0.02, 0.02, 0.02, 0.002, 0.0005, 3, 3, true, true, false, false, true, false, false, false, 0, 0, false);
    }

    public SimOptions withFaultMillis(long millis) {
        return new SimOptions(nodes, millis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withElection(boolean newPreVote, boolean newCheckQuorum) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, newPreVote, newCheckQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withCrashAfterReadyRate(double rate) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, rate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withStragglerRate(double rate) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate,
                rate, crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash,
                commitOlderTerms, snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withNetwork(long newMaxDelayMillis, double newDropRate) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, newMaxDelayMillis, newDropRate, duplicateRate,
                stragglerRate, crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum,
                forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withSnapshots(boolean newSnapshots, boolean newForgetSnapshotOnRestart) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                newSnapshots, newForgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withMembership(boolean newMembership) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, newMembership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withLeaseRead(boolean newLeaseRead) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, newLeaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withBugs(boolean newForgetVoteOnCrash, boolean newCommitOlderTerms) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, newForgetVoteOnCrash, newCommitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withClockSkewMillis(long newClockSkewMillis) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, newClockSkewMillis, diskFaultRate, forgetRecoveryFence);
    }

    public SimOptions withDiskFaults(double newDiskFaultRate, boolean newForgetRecoveryFence) {
        return new SimOptions(nodes, faultMillis, healMillis, tickMillis, maxDelayMillis, dropRate, duplicateRate, stragglerRate,
                crashDuringWriteRate, crashAfterReadyRate, clients, keys, preVote, checkQuorum, forgetVoteOnCrash, commitOlderTerms,
                snapshots, forgetSnapshotOnRestart, membership, leaseRead, clockSkewMillis, newDiskFaultRate,
                newForgetRecoveryFence);
    }
}
