package io.flotilla.chaos;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flotilla.checker.Model;
import io.flotilla.checker.Operation;
import io.flotilla.client.proto.Consistency;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * put / get / cas / delete on four contended keys. Every value written is unique, so a read tells
 * which write it saw. A cas expects the value its client last saw, so it often races and loses.
 */
final class RegisterWorkload implements Workload {
  private static final Long ABSENT = Long.MIN_VALUE;
  private final KeySlots keys = new KeySlots("r", 4, 300);
  private final AtomicLong values = new AtomicLong();
  /** The last value any client saw per key (ABSENT: none), the next cas's expectation. */
  private final Map<String, Long> lastSeen = new ConcurrentHashMap<>();

  @Override
  public String name() {
    return "register";
  }

  static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  static Long decode(Optional<byte[]> v) {
    return v.map(b -> Long.parseLong(new String(b, UTF_8))).orElse(null);
  }

  @Override
  public void step(Worker w) throws InterruptedException {
    String key = keys.pick(w.random);
    byte[] k = bytes(key);
    double r = w.random.nextDouble();
    if (r < 0.45) {
      Consistency c = w.nextReadConsistency();
      Worker.Outcome o = w.read("get", key, c, () -> w.client.get(k, c), RegisterWorkload::decode);
      if (o.ok()) {
        lastSeen.put(key, o.value() == null ? ABSENT : (Long) o.value());
      }
    } else if (r < 0.70) {
      long v = values.incrementAndGet();
      if (w.write("put", key, v, () -> w.client.put(k, bytes("" + v)), x -> true, x -> null).ok()) {
        lastSeen.put(key, v);
      }
    } else if (r < 0.95) {
      Long seen = lastSeen.getOrDefault(key, ABSENT);
      Long expected = seen.equals(ABSENT) ? null : seen;
      long v = values.incrementAndGet();
      byte[] e = expected == null ? null : bytes("" + expected);
      if (w.write("cas", key, Arrays.asList(expected, v), () -> w.client.cas(k, e, bytes("" + v)),
          swapped -> swapped, swapped -> swapped).ok()) {
        lastSeen.put(key, v);
      }
    } else {
      if (w.write("delete", key, null, () -> w.client.delete(k), x -> true, existed -> existed)
          .ok()) {
        lastSeen.put(key, ABSENT);
      }
    }
  }

  @Override
  public List<String> keys() {
    return keys.all();
  }

  @Override
  public boolean finalRead(Worker w, String key) throws InterruptedException {
    return w.read("get", key, FINAL, () -> w.client.get(bytes(key), FINAL),
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
    // Plausibility of SERIALIZABLE reads: the value read was the argument of some write.
    Map<String, Set<Long>> written = new HashMap<>();
    for (Operation op : ops) {
      Long v = switch (op.f()) {
        case "put" -> Operation.asLong(op.arg());
        case "cas" -> Operation.asLong(((List<?>) op.arg()).get(1));
        default -> null;
      };
      if (v != null) {
        written.computeIfAbsent(op.key(), x -> new HashSet<>()).add(v);
      }
    }
    int checked = 0;
    List<String> implausible = new java.util.ArrayList<>();
    for (Operation op : serializableReads) {
      if (!op.ok()) {
        continue;
      }
      checked++;
      Long v = Operation.asLong(op.result());
      if (v != null && !written.getOrDefault(op.key(), Set.of()).contains(v)) {
        implausible.add(op.key() + " read " + v + ", which no client wrote");
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("serializableReadsPlausible", Map.of("ok", implausible.isEmpty(), "reads", checked,
        "anomalies", implausible.subList(0, Math.min(20, implausible.size()))));
    return out;
  }
}
