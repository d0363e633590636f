package io.flotilla.checker;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Checks that a history is linearizable, key by key: Wing &amp; Gong's search with Lowe's
 * memoization of (linearized set, state), as in Knossos and Porcupine. Checking keys separately is
 * sound because linearizability is local (Herlihy &amp; Wing), so a workload keeps every key's
 * history short by moving on to fresh keys, as Jepsen's independent keys do.
 *
 * <p>What goes in: {@code ok} operations with their observed results; {@code info} operations
 * with an infinite completion time (they may take effect once at any point after their
 * invocation, or never: the model offers both). Left out: {@code fail} operations (certainly not
 * applied) and reads that did not complete (reads have no effect).
 *
 * <p>The one checker of the project: it judges the chaos runs' histories, the server tests' and
 * the Raft simulator's (registers starting at 0, see {@link Model.Register}).
 */
public final class LinearizabilityChecker {
  /** Above this many memoized configurations one key's search gives up as "unknown". */
  private final long maxConfigurations;

  public LinearizabilityChecker(long maxConfigurations) {
    this.maxConfigurations = maxConfigurations;
  }

  public LinearizabilityChecker() {
    this(5_000_000);
  }

  public enum Verdict { LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN }

  /** One key's verdict and, when it is not linearizable, that key's operations. */
  public record KeyResult(String key, Verdict verdict, int operations, List<Operation> history) {}

  /** Every key's verdict; {@link #valid()} only when each key is linearizable. */
  public record Result(List<KeyResult> keys) {
    public boolean valid() {
      return keys.stream().allMatch(k -> k.verdict() == Verdict.LINEARIZABLE);
    }

    public List<KeyResult> failures() {
      return keys.stream().filter(k -> k.verdict() != Verdict.LINEARIZABLE).toList();
    }
  }

  public Result check(List<Operation> ops, Function<String, Model> modelForKey) {
    Map<String, List<Operation>> byKey = new TreeMap<>();
    for (Operation op : ops) {
      boolean include = op.ok() || (op.info() && !op.isRead());
      if (include) {
        byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
      }
    }
    List<KeyResult> out = new ArrayList<>();
    for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
      Verdict v = checkKey(e.getValue(), modelForKey.apply(e.getKey()));
      out.add(new KeyResult(e.getKey(), v, e.getValue().size(),
          v == Verdict.LINEARIZABLE ? List.of() : e.getValue()));
    }
    return new Result(out);
  }

  private static final class Node {
    final Operation op;
    final int opIndex;
    final boolean call;
    final long time;
    Node match; // call -> its return
    Node prev;
    Node next;

    Node(Operation op, int opIndex, boolean call, long time) {
      this.op = op;
      this.opIndex = opIndex;
      this.call = call;
      this.time = time;
    }
  }

  private record Configuration(BitSet linearized, Object state) {}

  private record Frame(Node call, Object state) {}

  /** The single-key history {@code ops} under {@code model}. */
  public Verdict checkKey(List<Operation> ops, Model model) {
    List<Node> events = new ArrayList<>(ops.size() * 2);
    for (int i = 0; i < ops.size(); i++) {
      Operation op = ops.get(i);
      if (op.complete() < op.invoke()) {
        throw new IllegalArgumentException("completion before invocation: " + op);
      }
      Node call = new Node(op, i, true, op.invoke());
      Node ret = new Node(op, i, false, op.complete());
      call.match = ret;
      events.add(call);
      events.add(ret);
    }
    // By time; at equal times a return comes first (that operation really finished first).
    events.sort((a, b) -> a.time != b.time ? Long.compare(a.time, b.time)
        : Boolean.compare(a.call, b.call));
    Node head = new Node(null, -1, false, Long.MIN_VALUE);
    Node prev = head;
    for (Node n : events) {
      prev.next = n;
      n.prev = prev;
      prev = n;
    }

    Set<Configuration> cache = new HashSet<>();
    ArrayDeque<Frame> stack = new ArrayDeque<>();
    BitSet linearized = new BitSet(ops.size());
    Object state = model.init();
    Node entry = head.next;
    while (head.next != null) {
      if (entry.call) {
        boolean lifted = false;
        for (Object next : model.step(state, entry.op)) {
          BitSet lin = (BitSet) linearized.clone();
          lin.set(entry.opIndex);
          if (cache.add(new Configuration(lin, next))) {
            if (cache.size() > maxConfigurations) {
              return Verdict.UNKNOWN;
            }
            stack.push(new Frame(entry, state));
            state = next;
            linearized.set(entry.opIndex);
            lift(entry);
            lifted = true;
            break;
          }
        }
        entry = lifted ? head.next : entry.next;
      } else {
        // A return whose call is not yet linearized: backtrack.
        if (stack.isEmpty()) {
          return Verdict.NOT_LINEARIZABLE;
        }
        Frame f = stack.pop();
        state = f.state();
        linearized.clear(f.call().opIndex);
        unlift(f.call());
        // Retry the same call: an info operation may have another outcome left to try (the
        // memo skips the ones tried); then the search moves on to the next call.
        entry = f.call();
      }
    }
    return Verdict.LINEARIZABLE;
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
