package io.flotilla.raft.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Checks that a history of register reads and writes is linearizable (Wing &amp; Gong's search with
 * Lowe's memoization of (linearized set, state), as in porcupine / Knossos). Keys are checked
 * independently, which is sound because linearizability is local (Herlihy &amp; Wing).
 *
 * <p>A write whose outcome is unknown (timeout, leader lost) has response time
 * {@link Long#MAX_VALUE}: it may take effect at any point after its invocation, or never (it can
 * always be linearized last). Reads without a response have no effect and are left out by callers.
 */
public final class LinearizabilityChecker {

    /** One client operation. For a write {@code value} is the value written; for a read, the value returned. */
    public record Op(long id, String key, boolean write, long value, long invoke, long response) {
        public static Op write(long id, String key, long value, long invoke, long response) {
            return new Op(id, key, true, value, invoke, response);
        }

        public static Op read(long id, String key, long value, long invoke, long response) {
            return new Op(id, key, false, value, invoke, response);
        }

        public boolean unknown() {
            return response == Long.MAX_VALUE;
        }
    }

    /** Null if linearizable; otherwise the key and its sub-history. */
    public record Violation(String key, List<Op> history) {}

    private LinearizabilityChecker() {}

    public static Violation check(List<Op> history) {
        Map<String, List<Op>> byKey = new TreeMap<>();
        for (Op op : history) {
            byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
        }
        for (Map.Entry<String, List<Op>> e : byKey.entrySet()) {
            if (!checkRegister(e.getValue(), 0)) {
                return new Violation(e.getKey(), e.getValue());
            }
        }
        return null;
    }

    private static final class Node {
        final Op op;
        final int opIndex;
        final boolean call;
        final long time;
        Node match; // call -> its return
        Node prev;
        Node next;

        Node(Op op, int opIndex, boolean call, long time) {
            this.op = op;
            this.opIndex = opIndex;
            this.call = call;
            this.time = time;
        }
    }

    private record CacheKey(BitSet linearized, long state) {}

    private record Frame(Node call, long state) {}

    /** True if the single-register history {@code ops} is linearizable from {@code initial}. */
    public static boolean checkRegister(List<Op> ops, long initial) {
        List<Node> events = new ArrayList<>(ops.size() * 2);
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op.response() < op.invoke()) {
                throw new IllegalArgumentException("response before invoke: " + op);
            }
            Node call = new Node(op, i, true, op.invoke());
            Node ret = new Node(op, i, false, op.response());
            call.match = ret;
            events.add(call);
            events.add(ret);
        }
        // By time; at equal times a return comes first (the earlier op really finished first).
        events.sort((a, b) -> a.time != b.time ? Long.compare(a.time, b.time) : Boolean.compare(a.call, b.call));
        Node head = new Node(null, -1, false, Long.MIN_VALUE);
        Node prev = head;
        for (Node n : events) {
            prev.next = n;
            n.prev = prev;
            prev = n;
        }

        Set<CacheKey> cache = new HashSet<>();
        ArrayDeque<Frame> stack = new ArrayDeque<>();
        BitSet linearized = new BitSet(ops.size());
        long state = initial;
        Node entry = head.next;
        while (head.next != null) {
            if (entry.call) {
                Op op = entry.op;
                boolean ok = op.write() || op.value() == state;
                long newState = op.write() ? op.value() : state;
                if (ok) {
                    BitSet next = (BitSet) linearized.clone();
                    next.set(entry.opIndex);
                    if (cache.add(new CacheKey(next, newState))) {
                        stack.push(new Frame(entry, state));
                        state = newState;
                        linearized.set(entry.opIndex);
                        lift(entry);
                        entry = head.next;
                        continue;
                    }
                }
                entry = entry.next;
            } else {
                // A return whose call is not yet linearized: backtrack.
                if (stack.isEmpty()) {
                    return false;
                }
                Frame f = stack.pop();
                state = f.state();
                linearized.clear(f.call().opIndex);
                unlift(f.call());
                entry = f.call().next;
            }
        }
        return true;
    }

    private static void lift(Node call) {
        call.prev.next = call.next;
        call.next.prev = call.prev; // a call always has its return after it
        Node ret = call.match;
        ret.prev.next = ret.next;
        if (ret.next != null) {
            ret.next.prev = ret.prev;
        }
    }

    private static void unlift(Node call) {
        Node ret = call.match;
        ret.prev.next = ret;
        if (ret.next != null) {
            ret.next.prev = ret;
        }
        call.prev.next = call;
        call.next.prev = call;
    }
}
