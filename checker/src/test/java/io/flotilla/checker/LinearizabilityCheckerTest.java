package io.flotilla.checker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.checker.LinearizabilityChecker.Verdict;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Known-valid and known-invalid histories: the chaos runs' (registers that start absent, counters,
 * bank accounts; histories paired from events) and the Raft simulator's (registers that start at
 * 0, writes and reads built in code, {@link SimulatorHistories}).
 */
class LinearizabilityCheckerTest {
  private final LinearizabilityChecker checker = new LinearizabilityChecker();
  private static final Model REGISTER = new Model.Register();

  private static Operation ok(String f, Object arg, Object result, long invoke, long complete) {
    return new Operation(0, f, "k", arg, result, HistoryEvent.OK, invoke, complete, null);
  }

  private static Operation info(String f, Object arg, long invoke) {
    return new Operation(0, f, "k", arg, null, HistoryEvent.INFO, invoke, Long.MAX_VALUE, null);
  }

  private Verdict register(Operation... ops) {
    return checker.checkKey(List.of(ops), REGISTER);
  }

  @Test
  void sequentialRegisterHistoryIsLinearizable() {
    assertThat(register(
        ok("get", null, null, 0, 1),
        ok("put", 1L, null, 2, 3),
        ok("get", null, 1L, 4, 5),
        ok("cas", Arrays.asList(1L, 2L), true, 6, 7),
        ok("get", null, 2L, 8, 9),
        ok("delete", null, true, 10, 11),
        ok("get", null, null, 12, 13))).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void aReadConcurrentWithAWriteMaySeeEitherValue() {
    Operation put1 = ok("put", 1L, null, 0, 1);
    Operation put2 = ok("put", 2L, null, 2, 10);
    assertThat(register(put1, put2, ok("get", null, 1L, 3, 4))).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(register(put1, put2, ok("get", null, 2L, 3, 4))).isEqualTo(Verdict.LINEARIZABLE);
    // Once one concurrent read saw the new value, a later read may not go back.
    assertThat(register(put1, put2, ok("get", null, 2L, 3, 4), ok("get", null, 1L, 5, 6)))
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void aStaleReadIsRejected() {
    // put 2 finished before the read began, yet the read returns the older value.
    assertThat(register(
        ok("put", 1L, null, 0, 1),
        ok("put", 2L, null, 2, 3),
        ok("get", null, 1L, 4, 5))).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void aLostWriteIsRejected() {
    // An acknowledged write, then the final read finds the key as it was before it.
    assertThat(register(
        ok("put", 1L, null, 0, 1),
        ok("put", 2L, null, 2, 3),
        info("put", 3L, 4),
        ok("get", null, 1L, 10, 11))).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(register(
        ok("put", 7L, null, 0, 1),
        ok("get", null, null, 2, 3))).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void anUnknownWriteMayHaveHappenedOrNot() {
    Operation put1 = ok("put", 1L, null, 0, 1);
    Operation put2 = info("put", 2L, 2);
    assertThat(register(put1, put2, ok("get", null, 1L, 5, 6))).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(register(put1, put2, ok("get", null, 2L, 5, 6))).isEqualTo(Verdict.LINEARIZABLE);
    // ... but it happens at most once: it cannot be seen, then undone, then seen again.
    assertThat(register(put1, put2, ok("get", null, 2L, 5, 6), ok("get", null, 1L, 7, 8)))
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
    // An unknown cas whose comparison could never hold is simply a no-op.
    assertThat(register(put1, info("cas", Arrays.asList(9L, 10L), 2), ok("get", null, 1L, 5, 6)))
        .isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void aCasThatSwappedMustHaveSeenItsExpectedValue() {
    assertThat(register(ok("put", 1L, null, 0, 1), ok("cas", Arrays.asList(3L, 4L), true, 2, 3)))
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(register(ok("cas", Arrays.asList(null, 4L), true, 0, 1), ok("get", null, 4L, 2, 3)))
        .isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void aDoubleAppliedIncrementIsRejected() {
    assertThat(register(ok("incr", 1L, 1L, 0, 1), ok("incr", 1L, 2L, 2, 3),
        ok("get", null, 2L, 4, 5))).isEqualTo(Verdict.LINEARIZABLE);
    // One increment acknowledged, yet the counter moved by two.
    assertThat(register(ok("incr", 1L, 1L, 0, 1), ok("get", null, 2L, 4, 5)))
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
    // Two increments that both returned 1.
    assertThat(register(ok("incr", 1L, 1L, 0, 3), ok("incr", 1L, 1L, 1, 4)))
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
    // An unknown increment may explain a larger value, once.
    assertThat(register(ok("incr", 1L, 1L, 0, 1), info("incr", 1L, 2), ok("get", null, 2L, 4, 5)))
        .isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void bankTransfersKeepTheirShapeAndReadsSeeWholeStates() {
    Model bank = new Model.Bank(2);
    Operation init = new Operation(0, "txn", "b", Map.of("init", 10L), true, HistoryEvent.OK, 0, 1,
        null);
    Operation move = new Operation(1, "txn", "b", Map.of("from", 0L, "to", 1L,
        "expected", List.of(10L, 10L), "amount", 3L), true, HistoryEvent.OK, 2, 3, null);
    Operation read = new Operation(2, "get", "b", null, List.of(7L, 13L), HistoryEvent.OK, 4, 5,
        "LINEARIZABLE");
    Operation torn = new Operation(2, "get", "b", null, List.of(7L, 10L), HistoryEvent.OK, 4, 5,
        "LINEARIZABLE");
    assertThat(checker.checkKey(List.of(init, move, read), bank)).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(checker.checkKey(List.of(init, move, torn), bank))
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void keysAreCheckedIndependentlyAndFailedOperationsLeftOut() {
    List<Operation> ops = List.of(
        new Operation(0, "put", "a", 1L, null, HistoryEvent.OK, 0, 1, null),
        new Operation(1, "put", "b", 5L, null, HistoryEvent.FAIL, 0, 1, null),
        new Operation(1, "get", "b", null, null, HistoryEvent.OK, 2, 3, "FOLLOWER"),
        new Operation(0, "get", "a", null, 1L, HistoryEvent.OK, 2, 3, "LINEARIZABLE"));
    LinearizabilityChecker.Result r = checker.check(ops, k -> REGISTER);
    assertThat(r.valid()).isTrue();
    assertThat(r.keys()).hasSize(2);
  }

  @Test
  void aLongConcurrentHistoryIsCheckedQuickly() {
    // Four processes on one register, overlapping operations, every read seeing the truth at a
    // point inside its interval: valid by construction. Seeded.
    long seed = 42;
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Operation> ops = new ArrayList<>();
    Long value = null;
    long t = 0;
    for (int i = 0; i < 600; i++) {
      long invoke = t;
      long point = invoke + 1 + rnd.nextInt(3);
      long complete = point + 1 + rnd.nextInt(3);
      int p = i % 4;
      if (rnd.nextBoolean()) {
        value = (long) i;
        ops.add(new Operation(p, "put", "k", value, null, HistoryEvent.OK, invoke, complete, null));
      } else {
        ops.add(new Operation(p, "get", "k", null, value, HistoryEvent.OK, invoke, complete, null));
      }
      t = point + 1; // the next operation starts after this one took effect, maybe before it returned
    }
    assertThat(checker.checkKey(ops, REGISTER)).as("seed %d", seed).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void pairingMatchesProcessesAndMarksLeftoversUnknown() {
    List<HistoryEvent> events = List.of(
        new HistoryEvent(0, "invoke", "put", "k", 1L, 0, null),
        new HistoryEvent(1, "invoke", "get", "k", null, 1, "FOLLOWER"),
        new HistoryEvent(0, "ok", "put", "k", null, 2, null),
        new HistoryEvent(1, "ok", "get", "k", 1L, 3, "FOLLOWER"),
        new HistoryEvent(2, "invoke", "put", "k", 2L, 4, null));
    List<Operation> ops = Operation.pair(events);
    assertThat(ops).hasSize(3);
    assertThat(ops.get(2).info()).isTrue();
    assertThat(ops.get(2).complete()).isEqualTo(Long.MAX_VALUE);
    assertThatThrownBy(() -> Operation.pair(List.of(
        new HistoryEvent(0, "invoke", "put", "k", 1L, 0, null),
        new HistoryEvent(0, "invoke", "put", "k", 2L, 1, null))))
        .hasMessageContaining("outstanding");
    assertThatThrownBy(() -> new HistoryEvent(0, "done", "put", "k", 1L, 0, null))
        .hasMessageContaining("invoke|ok|fail|info");
  }

  /**
   * The Raft simulator's histories (formerly its own checker's tests): registers that start at 0,
   * writes and reads built with {@link Operation#write} and {@link Operation#read}, a write of
   * unknown outcome never answered ({@code NEVER}), and no bound on the search.
   */
  @Nested
  class SimulatorHistories {
    private static final long NEVER = Long.MAX_VALUE;

    private Operation write(long id, String key, long value, long invoke, long response) {
      return Operation.write((int) id, key, value, invoke, response);
    }

    private Operation read(long id, String key, long value, long invoke, long response) {
      return Operation.read((int) id, key, value, invoke, response);
    }

    private LinearizabilityChecker.Result check(List<Operation> history) {
      return new LinearizabilityChecker(Long.MAX_VALUE).check(history, k -> new Model.Register(0L));
    }

    private boolean ok(Operation... ops) {
      return check(List.of(ops)).valid();
    }

    @Test
    void sequentialHistoryIsLinearizable() {
      assertThat(ok(write(1, "x", 1, 0, 1), read(2, "x", 1, 2, 3), write(3, "x", 2, 4, 5), read(4, "x", 2, 6, 7)))
          .isTrue();
    }

    @Test
    void readOfInitialValueBeforeAnyWrite() {
      assertThat(ok(read(1, "x", 0, 0, 1), write(2, "x", 5, 2, 3))).isTrue();
    }

    @Test
    void concurrentOperationsMayTakeEffectInEitherOrder() {
      // The read overlaps the write: it may see the old or the new value.
      assertThat(ok(write(1, "x", 1, 0, 10), read(2, "x", 0, 1, 2))).isTrue();
      assertThat(ok(write(1, "x", 1, 0, 10), read(2, "x", 1, 1, 2))).isTrue();
      // Two overlapping writes, then reads agreeing on an order.
      assertThat(ok(write(1, "x", 1, 0, 10), write(2, "x", 2, 0, 10), read(3, "x", 1, 11, 12),
          read(4, "x", 1, 13, 14))).isTrue();
    }

    @Test
    void staleReadIsNotLinearizable() {
      // The write of 1 completed before the read started, yet the read saw the initial value.
      assertThat(ok(write(1, "x", 1, 0, 1), read(2, "x", 0, 2, 3))).isFalse();
      // Same with an overwrite: reading 1 after 2 was acknowledged.
      assertThat(ok(write(1, "x", 1, 0, 1), write(2, "x", 2, 2, 3), read(3, "x", 1, 4, 5))).isFalse();
    }

    @Test
    void lostWriteIsNotLinearizable() {
      // Acknowledged write of 2 vanishes: later reads see 1 again after having seen 2.
      assertThat(ok(write(1, "x", 1, 0, 1), write(2, "x", 2, 2, 3), read(3, "x", 2, 4, 5), read(4, "x", 1, 6, 7)))
          .isFalse();
    }

    @Test
    void readsMustAgreeOnOneOrderOfConcurrentWrites() {
      // Two reads after both writes completed can't see different values.
      assertThat(ok(write(1, "x", 1, 0, 10), write(2, "x", 2, 0, 10), read(3, "x", 1, 11, 12),
          read(4, "x", 2, 13, 14), read(5, "x", 1, 15, 16))).isFalse();
    }

    @Test
    void unknownWriteMayOrMayNotHaveHappened() {
      assertThat(ok(write(1, "x", 7, 0, NEVER), read(2, "x", 0, 5, 6))).isTrue();
      assertThat(ok(write(1, "x", 7, 0, NEVER), read(2, "x", 7, 5, 6))).isTrue();
      // ...but not before it was invoked,
      assertThat(ok(read(2, "x", 7, 0, 1), write(1, "x", 7, 2, NEVER))).isFalse();
      // ...and once seen it cannot un-happen.
      assertThat(ok(write(1, "x", 7, 0, NEVER), read(2, "x", 7, 5, 6), read(3, "x", 0, 7, 8))).isFalse();
    }

    @Test
    void keysAreCheckedIndependently() {
      assertThat(ok(write(1, "x", 1, 0, 1), write(2, "y", 2, 0, 1), read(3, "x", 1, 2, 3), read(4, "y", 2, 2, 3)))
          .isTrue();
      LinearizabilityChecker.Result r = check(List.of(
          write(1, "x", 1, 0, 1), write(2, "y", 2, 0, 1), read(3, "x", 1, 2, 3), read(4, "y", 0, 2, 3)));
      assertThat(r.valid()).isFalse();
      assertThat(r.failures().get(0).key()).isEqualTo("y");
    }

    @Test
    void largeConcurrentHistoryIsCheckedQuickly() {
      // 3 clients x 200 overlapping ops, correct by construction (each read sees the latest write).
      List<Operation> ops = new ArrayList<>();
      long value = 0;
      long t = 0;
      for (int i = 0; i < 200; i++) {
        long v = ++value;
        ops.add(write(3L * i, "x", v, t, t + 3));
        ops.add(read(3L * i + 1, "x", v, t + 1, t + 5));
        ops.add(write(3L * i + 2, "x", v + 1000, t + 2, NEVER)); // never acknowledged, never seen
        t += 4;
      }
      assertThat(check(ops).valid()).isTrue();
    }
  }
}
