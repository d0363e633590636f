package io.flotilla.chaos;

import io.flotilla.checker.Model;
import io.flotilla.checker.Operation;
import io.flotilla.client.proto.Consistency;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** What the clients of a chaos run do, how its keys are modelled, and its own checks. */
public sealed interface Workload permits RegisterWorkload, CounterWorkload, BankWorkload {

  /** By its {@code --workload} name. */
  static Workload named(String name) {
    return switch (name) {
      case "register" -> new RegisterWorkload();
      case "counter" -> new CounterWorkload();
      case "bank" -> new BankWorkload();
      default -> throw new IllegalArgumentException("unknown workload '" + name
          + "'; expected register, counter or bank");
    };
  }

  String name();

  /** One operation by {@code w}, recorded in the history. */
  void step(Worker w) throws InterruptedException;

  /** Every key used so far (each gets a final linearizable read). */
  List<String> keys();

  /** A linearizable read of {@code key}, recorded; false if it did not succeed. */
  boolean finalRead(Worker w, String key) throws InterruptedException;

  Model modelFor(String key);

  /**
   * The {@code ranges - 1} keys a run with {@code --ranges} splits its fresh cluster at, sorted:
   * within this workload's key space, so that its keys spread over the ranges, and never a key
   * that {@link #separates} one request's keys.
   */
  List<String> presplitKeys(int ranges);

  /**
   * The split fault's key, drawn from {@code random}: in the keys the clients use now or are
   * about to, not in {@code rangeStarts} (splitting there does nothing), never one that
   * {@link #separates} one request's keys.
   */
  String splitKey(SplittableRandom random, Set<String> rangeStarts);

  /**
   * True if a split at {@code key} would put keys that one request names in two ranges, where
   * the request would be refused ({@code CROSS_RANGE}): a bank's accounts, which one transaction
   * moves money between.
   */
  default boolean separates(String key) {
    return false;
  }

  /**
   * This workload's own checks over the whole history (counter and bank totals) and over the
   * SERIALIZABLE reads (plausibility: the value was written at some point). Each entry's value is
   * a map with at least {@code "ok"}.
   */
  Map<String, Object> check(List<Operation> ops, List<Operation> serializableReads);

  /** The consistency of a final read. */
  Consistency FINAL = Consistency.LINEARIZABLE;
}
