package io.flotilla.checker;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A sequential specification for the linearizability search. {@link #step} returns every state the
 * operation may leave behind: none when it is impossible in {@code state}, one for an operation
 * whose result was observed, and for an {@code info} operation also {@code state} itself (it may
 * never have happened). States must have value equality: they are memoized.
 */
public sealed interface Model permits Model.Register, Model.Bank {

  Object init();

  List<Object> step(Object state, Operation op);

  /**
   * One key holding an integer or nothing: put, get, cas ([expected, new], null = absent),
   * delete (result: existed), incr (result: the new value; absent counts as 0).
   *
   * @param initial the value before the first operation: null (absent) for a chaos run's keys, 0
   *                for the Raft simulator's, whose reads of a key never written return 0
   */
  record Register(Long initial) implements Model {
    /** A register that starts absent. */
    public Register() {
      this(null);
    }

    @Override
    public Object init() {
      return initial;
    }

    @Override
    public List<Object> step(Object state, Operation op) {
      Long s = Operation.asLong(state);
      Long next;
      switch (op.f()) {
        case "get" -> {
          return Objects.equals(s, Operation.asLong(op.result())) ? one(s) : List.of();
        }
        case "put" -> next = Operation.asLong(op.arg());
        case "cas" -> {
          List<?> a = (List<?>) op.arg();
          if (!Objects.equals(s, Operation.asLong(a.get(0)))) {
            // A swap reported done cannot have compared unequal; an unknown one did nothing.
            return op.info() ? one(s) : List.of();
          }
          next = Operation.asLong(a.get(1));
        }
        case "delete" -> {
          if (op.ok() && !Objects.equals(op.result(), s != null)) {
            return List.of();
          }
          next = null;
        }
        case "incr" -> {
          next = (s == null ? 0 : s) + Operation.asLong(op.arg());
          if (op.ok() && !next.equals(Operation.asLong(op.result()))) {
            return List.of();
          }
        }
        default -> throw new IllegalArgumentException("register model: no operation " + op.f());
      }
      return op.info() ? two(next, s) : one(next);
    }
  }

  /**
   * Accounts 0..n-1 under one key: a read ("get", result: every balance, null = absent), an
   * initialising txn ({@code {"init": B}}: all absent, then all B) and a transfer txn
   * ({@code {"from", "to", "expected": [f, t], "amount"}}: the compares held, then moved).
   */
  record Bank(int accounts) implements Model {
    @Override
    public Object init() {
      return Collections.nCopies(accounts, (Long) null);
    }

    @Override
    public List<Object> step(Object state, Operation op) {
      @SuppressWarnings("unchecked")
      List<Long> s = (List<Long>) state;
      switch (op.f()) {
        case "get" -> {
          List<?> read = (List<?>) op.result();
          List<Long> r = new ArrayList<>();
          for (Object o : read) {
            r.add(Operation.asLong(o));
          }
          return r.equals(s) ? one(s) : List.of();
        }
        case "txn" -> {
          Map<?, ?> a = (Map<?, ?>) op.arg();
          List<Long> next = new ArrayList<>(s);
          boolean holds;
          if (a.containsKey("init")) {
            holds = s.stream().allMatch(Objects::isNull);
            Collections.fill(next, Operation.asLong(a.get("init")));
          } else {
            int from = Operation.asLong(a.get("from")).intValue();
            int to = Operation.asLong(a.get("to")).intValue();
            List<?> expected = (List<?>) a.get("expected");
            long amount = Operation.asLong(a.get("amount"));
            holds = Objects.equals(s.get(from), Operation.asLong(expected.get(0)))
                && Objects.equals(s.get(to), Operation.asLong(expected.get(1)));
            if (holds) {
              next.set(from, s.get(from) - amount);
              next.set(to, s.get(to) + amount);
            }
          }
          if (!holds) {
            return op.info() ? one(s) : List.of();
          }
          return op.info() ? two(Collections.unmodifiableList(next), s) : one(Collections.unmodifiableList(next));
        }
        default -> throw new IllegalArgumentException("bank model: no operation " + op.f());
      }
    }
  }

  private static List<Object> one(Object s) {
    return Collections.singletonList(s);
  }

  private static List<Object> two(Object a, Object b) {
    return Objects.equals(a, b) ? one(a) : java.util.Arrays.asList(a, b);
  }
}
