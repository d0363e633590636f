package io.flotilla.raft;

/**
 * A broken safety invariant. It is an {@link Error}, not an exception: the node must stop rather
 * than keep running with state that may corrupt data (TigerBeetle style). Nothing should catch it
 * except a simulator that reports the seed.
 */
public final class InvariantViolation extends Error {

    public InvariantViolation(String message) {
        super(message);
    }

    public static void check(boolean condition, String message) {
        if (!condition) {
            throw new InvariantViolation(message);
        }
    }

    public static void check(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, args));
        }
    }
}
