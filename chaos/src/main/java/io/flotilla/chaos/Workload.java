package io.flotilla.chaos;

import io.flotilla.checker.Model;
import io.flotilla.checker.Operation;
import io.flotilla.client.proto.Consistency;
import java.util.List;
import java.util.Map;

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
   * This workload's own checks over the whole history (counter and bank totals) and over the
   * SERIALIZABLE reads (plausibility: the value was written at some point). Each entry's value is
   * a map with at least {@code "ok"}.
   */
  Map<String, Object> check(List<Operation> ops, List<Operation> serializableReads);

  /** The consistency of a final read. */
  Consistency FINAL = Consistency.LINEARIZABLE;
}
