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

    // Primitive overloads: the checks sit on the replication hot path, and the varargs form would
    // box its long arguments on every call, failing or not (most of the engine's allocation).

    public static void check(boolean condition, String format, long a) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, a));
        }
    }

    public static void check(boolean condition, String format, long a, long b) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, a, b));
        }
    }

    public static void check(boolean condition, String format, long a, long b, long c) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, a, b, c));
        }
    }

    public static void check(boolean condition, String format, long a, long b, long c, long d) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, a, b, c, d));
        }
    }

    public static void check(boolean condition, String format, long a, long b, long c, long d, long e) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, a, b, c, d, e));
        }
    }

    public static void check(boolean condition, String format, Object... args) {
        if (!condition) {
            throw new InvariantViolation(String.format(format, args));
        }
    }
}
