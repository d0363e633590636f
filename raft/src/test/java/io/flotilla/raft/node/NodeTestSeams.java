package io.flotilla.raft.node;

/** Public access to the driver's package-private, test-only fault injection flags. */
public final class NodeTestSeams {

    private NodeTestSeams() {}

    /**
     * While {@code hold}, {@code replica} feeds no due ticks to its core: inputs run against a
     * clock that stopped, as they did when ticks were tasks queued behind them (the stale lease
     * read of issue 14 item 2). Released, the next catch-up feeds what is owed.
     */
    public static void holdTicks(RaftReplica replica, boolean hold) {
        replica.testOnlyHoldTicks = hold;
    }
}
