package io.flotilla.chaos;

import io.flotilla.checker.History;
import io.flotilla.checker.HistoryEvent;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * One client thread of a chaos run: a logical process that runs one operation at a time through
 * the Java client and records it. After an {@code info} completion it takes a fresh process id,
 * so no process ever has two operations whose effects could overlap.
 */
final class Worker {
  /** How an operation ended, and the result recorded with it. */
  record Outcome(String type, Object value) {
    boolean ok() {
      return type.equals(HistoryEvent.OK);
    }
  }

  final FlotillaClient client;
  final SplittableRandom random;
  private final History history;
  private final History serializable;
  private final AtomicLong lastOkWrite;
  private final Map<String, LongAdder> errors;
  private int process;
  private long reads;

  /**
   * @param serializable where SERIALIZABLE reads go (checked for plausibility only), or null to
   *                     issue none
   * @param lastOkWrite  updated with the history time of every acknowledged write (the nemesis
   *                     watches it to see the majority keep serving)
   * @param errors       counts the operations that failed, by error code ({@code CROSS_RANGE},
   *                     {@code TIMEOUT}, ...; the class name for other exceptions), shared by
   *                     the run's workers
   */
  Worker(FlotillaClient client, SplittableRandom random, History history, History serializable,
      AtomicLong lastOkWrite, Map<String, LongAdder> errors) {
    this.errors = errors;
    this.client = client;
    this.random = random;
    this.history = history;
    this.serializable = serializable;
    this.lastOkWrite = lastOkWrite;
    this.process = history.newProcess();
  }

  /** Reads alternate LINEARIZABLE and FOLLOWER; one in five is SERIALIZABLE when enabled. */
  Consistency nextReadConsistency() {
    long n = reads++;
    if (serializable != null && n % 5 == 4) {
      return Consistency.SERIALIZABLE;
    }
    return n % 2 == 0 ? Consistency.LINEARIZABLE : Consistency.FOLLOWER;
  }

  /** A write: {@code ok} when {@code applied} holds for the answer, else {@code fail}. */
  <T> Outcome write(String f, String key, Object arg, Supplier<CompletableFuture<T>> call,
      Predicate<T> applied, Function<T, Object> result) throws InterruptedException {
    return run(history, f, key, arg, null, call, applied, result, true);
  }

  <T> Outcome read(String f, String key, Consistency c, Supplier<CompletableFuture<T>> call,
      Function<T, Object> result) throws InterruptedException {
    History h = c == Consistency.SERIALIZABLE ? serializable : history;
    return run(h, f, key, null, c.name(), call, t -> true, result, false);
  }

  private <T> Outcome run(History h, String f, String key, Object arg, String consistency,
      Supplier<CompletableFuture<T>> call, Predicate<T> applied, Function<T, Object> result,
      boolean isWrite) throws InterruptedException {
    int p = process;
    h.record(p, HistoryEvent.INVOKE, f, key, arg, consistency);
    Outcome out;
    try {
      T answer = call.get().get();
      out = applied.test(answer) ? new Outcome(HistoryEvent.OK, result.apply(answer))
          : new Outcome(HistoryEvent.FAIL, result.apply(answer));
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      errors.computeIfAbsent(cause instanceof FlotillaException fe ? fe.code().name()
          : cause.getClass().getSimpleName(), x -> new LongAdder()).increment();
      boolean unknown = isWrite && (!(cause instanceof FlotillaException fe) || fe.outcomeUnknown());
      // A read that failed changed nothing; a write fails only when certainly not applied.
      out = new Outcome(unknown ? HistoryEvent.INFO : HistoryEvent.FAIL, null);
    } catch (InterruptedException e) {
      h.record(p, HistoryEvent.INFO, f, key, null, consistency);
      process = history.newProcess();
      throw e;
    }
    HistoryEvent done = h.record(p, out.type(), f, key, out.value(), consistency);
    if (out.type().equals(HistoryEvent.INFO)) {
      process = history.newProcess(); // its operation may still take effect: never reuse it
    }
    if (isWrite && out.ok()) {
      lastOkWrite.accumulateAndGet(done.time(), Math::max);
    }
    return out;
  }
}
