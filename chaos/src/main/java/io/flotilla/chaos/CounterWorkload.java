package io.flotilla.chaos;

import io.flotilla.checker.Model;
import io.flotilla.checker.Operation;
import io.flotilla.client.proto.Consistency;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * incr (by 1 to 3) and get on four contended counters. Besides linearizability, each counter's
 * final value must lie between the sum of its acknowledged increments and that sum plus the
 * increments whose outcome is unknown: exactly the acknowledged sum when none is unknown.
 */
final class CounterWorkload implements Workload {
  private final KeySlots keys = new KeySlots("c", 4, 300);

  @Override
  public String name() {
    return "counter";
  }

  @Override
  public void step(Worker w) throws InterruptedException {
    String key = keys.pick(w.random);
    byte[] k = RegisterWorkload.bytes(key);
    if (w.random.nextDouble() < 0.4) {
      Consistency c = w.nextReadConsistency();
      w.read("get", key, c, () -> w.client.get(k, c), RegisterWorkload::decode);
    } else {
      long delta = 1 + w.random.nextInt(3);
      w.write("incr", key, delta, () -> w.client.incr(k, delta), x -> true, v -> v);
    }
  }

  @Override
  public List<String> keys() {
    return keys.all();
  }

  @Override
  public boolean finalRead(Worker w, String key) throws InterruptedException {
    return w.read("get", key, FINAL, () -> w.client.get(RegisterWorkload.bytes(key), FINAL),
        RegisterWorkload::decode).ok();
  }

  @Override
  public List<String> presplitKeys(int ranges) {
    return keys.presplitKeys(ranges);
  }

  @Override
  public String splitKey(java.util.SplittableRandom random, java.util.Set<String> rangeStarts) {
    return keys.splitKey(random, rangeStarts);
  }

  @Override
  public Model modelFor(String key) {
    return new Model.Register();
  }

  @Override
  public Map<String, Object> check(List<Operation> ops, List<Operation> serializableReads) {
    Map<String, long[]> sums = new HashMap<>();
    Map<String, Operation> lastRead = new HashMap<>();
    for (Operation op : ops) {
      long[] s = sums.computeIfAbsent(op.key(), x -> new long[2]);
      if (op.f().equals("incr")) {
        if (op.ok()) {
          s[0] += Operation.asLong(op.arg());
        } else if (op.info()) {
          s[1] += Operation.asLong(op.arg());
        }
      } else if (op.isRead() && op.ok() && "LINEARIZABLE".equals(op.consistency())) {
        Operation prev = lastRead.get(op.key());
        if (prev == null || op.invoke() > prev.invoke()) {
          lastRead.put(op.key(), op);
        }
      }
    }
    List<String> wrong = new ArrayList<>();
    int exact = 0;
    for (Map.Entry<String, long[]> e : sums.entrySet()) {
      Operation fin = lastRead.get(e.getKey());
      long[] s = e.getValue();
      if (fin == null) {
        wrong.add(e.getKey() + ": no final read");
        continue;
      }
      long v = fin.result() == null ? 0 : Operation.asLong(fin.result());
      if (v < s[0] || v > s[0] + s[1]) {
        wrong.add(e.getKey() + ": final " + v + ", acknowledged increments " + s[0]
            + ", unknown " + s[1]);
      } else if (s[1] == 0) {
        exact++;
      }
    }
    int implausible = 0;
    for (Operation op : serializableReads) {
      if (op.ok() && op.result() != null) {
        long[] s = sums.getOrDefault(op.key(), new long[2]);
        long v = Operation.asLong(op.result());
        if (v < 0 || v > s[0] + s[1]) {
          implausible++;
          wrong.add(op.key() + ": SERIALIZABLE read " + v + " beyond every increment issued");
        }
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("counterTotals", Map.of("ok", wrong.isEmpty(), "counters", sums.size(),
        "exactWithNoUnknown", exact, "implausibleSerializableReads", implausible,
        "anomalies", wrong.subList(0, Math.min(20, wrong.size()))));
    return out;
  }
}
