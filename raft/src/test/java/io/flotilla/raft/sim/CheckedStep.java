package io.flotilla.raft.sim;

import io.flotilla.raft.DropReason;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.node.RaftReplica;

/**
 * Steps a message into a core the way the simulated networks do, where every sender is a correct
 * node: the core must never drop one as invalid. A drop is either a validation check that refuses
 * legitimate traffic (a liveness bug the simulator would otherwise hide as "just a lost message")
 * or, for an alarm ({@link DropReason#alarm()}), a safety violation between correct nodes; both
 * fail the run. The alarms keep the wording the core used when it threw them itself, which
 * the scenario tests with injected bugs look for.
 */
public final class CheckedStep {

    private CheckedStep() {}

    public static void step(RaftCore core, Message m) {
        core.step(m).ifPresent(reason -> fail(core, m, reason));
    }

    /** The same, through the production driver (the simulator runs {@link RaftReplica}). */
    public static void step(RaftReplica replica, Message m) {
        replica.step(m, reason -> fail(replica.core(), m, reason));
    }

    private static void fail(RaftCore core, Message m, DropReason reason) {
        String what = "node " + core.id() + " (" + core + ") dropped " + m + ": " + reason;
        switch (reason) {
            case CONFLICTS_WITH_COMMITTED -> throw new InvariantViolation(
                    "leader " + m.from() + "'s AppendEntries conflicts with committed prefix: " + what);
            case SECOND_LEADER -> throw new InvariantViolation(
                    "two leaders in term " + m.term() + ": " + core.id() + " and " + m.from() + ": " + what);
            default -> throw new AssertionError("a correct node's message was dropped as invalid: " + what);
        }
    }
}
