package io.flotilla.raft;

/** Public access to the core's package-private, test-only fault injection flags. */
public final class TestSeams {

    private TestSeams() {}

    /** Makes {@code core} commit by counting replicas of older-term entries (the Figure 8 bug). */
    public static void commitOlderTerms(RaftCore core) {
        core.testOnlyCommitOlderTerms = true;
    }

    /** Makes {@code core}, as leader, switch voter sets directly instead of through a joint configuration. */
    public static void skipJointConsensus(RaftCore core) {
        core.testOnlySkipJointConsensus = true;
    }
}
