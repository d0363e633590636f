package io.flotilla.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * After the heal: every range is held by every node its configuration names, and its replicas
 * there reach one applied index with one state digest ({@code /status} "ranges" of each node).
 * The configuration is the one of the replica that applied most (its voters and learners; every
 * node when a status names none). A replica on a node outside it is one placement moved away and
 * not yet deleted (docs/placement.md): not judged. A range whose replicas show equal applied
 * indexes with different digests has diverged; one that a named node lacks (it missed the split:
 * docs/ranges.md, "Placeholders") never converges.
 */
final class RangeConvergence {
  /** How many ranges are listed by name when some do not converge. */
  private static final int LISTED = 10;

  private RangeConvergence() {}

  /** Polls every node's {@code /status} until every range converged or {@code within} passed; the last verdict. */
  static Map<String, Object> await(ClusterControl control, Duration within)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    Map<String, Object> last = Map.of("ok", false, "reason", "no status from every node");
    while (System.nanoTime() < deadline) {
      Map<Integer, JsonNode> statuses = new TreeMap<>();
      for (int i = 1; i <= control.nodes(); i++) {
        statuses.put(i, control.status(i));
      }
      last = judge(statuses);
      if (Boolean.TRUE.equals(last.get("ok"))) {
        return last;
      }
      Thread.sleep(250); // polling remote processes
    }
    return last;
  }

  /**
   * The verdict on one poll of every node's {@code /status} (null: no answer): {@code ok},
   * {@code ranges} (how many distinct range ids), {@code converged} (how many of them agree on
   * every node), {@code diverged} (equal applied, different digests), and the first few that do
   * not converge with each replica's applied index and digest.
   */
  static Map<String, Object> judge(Map<Integer, JsonNode> statuses) {
    List<Integer> silent = new ArrayList<>();
    Map<Long, Map<Integer, JsonNode>> byRange = new TreeMap<>();
    for (Map.Entry<Integer, JsonNode> e : statuses.entrySet()) {
      JsonNode st = e.getValue();
      if (st == null || !st.path("ranges").isArray()) {
        silent.add(e.getKey());
        continue;
      }
      for (JsonNode r : st.path("ranges")) {
        byRange.computeIfAbsent(r.path("id").asLong(), x -> new TreeMap<>()).put(e.getKey(), r);
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    if (!silent.isEmpty()) {
      out.put("ok", false);
      out.put("reason", "no status from nodes " + silent);
      return out;
    }
    int converged = 0;
    int diverged = 0;
    List<Map<String, Object>> notConverged = new ArrayList<>();
    for (Map.Entry<Long, Map<Integer, JsonNode>> e : byRange.entrySet()) {
      java.util.Set<Integer> expected = holders(e.getValue(), statuses.keySet());
      Map<Integer, JsonNode> replicas = new TreeMap<>(e.getValue());
      replicas.keySet().retainAll(expected);
      if (replicas.isEmpty()) {
        replicas = e.getValue();
      }
      Map<Integer, Long> applied = new TreeMap<>();
      Map<Integer, String> digests = new TreeMap<>();
      replicas.forEach((node, r) -> {
        applied.put(node, r.path("applied").asLong());
        digests.put(node, r.path("digest").asText());
      });
      String reason = null;
      if (replicas.size() < expected.size()) {
        Map<Integer, JsonNode> held = replicas;
        List<Integer> missing = expected.stream().filter(n -> !held.containsKey(n)).sorted().toList();
        reason = "missing on nodes " + missing;
      } else if (applied.values().stream().distinct().count() > 1) {
        reason = "applied indexes differ";
      } else if (digests.values().stream().distinct().count() > 1) {
        reason = "DIVERGED: equal applied index, different digests";
        diverged++;
      }
      if (reason == null) {
        converged++;
      } else if (notConverged.size() < LISTED) {
        JsonNode any = replicas.values().iterator().next();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("range", e.getKey());
        r.put("start", any.path("start").asText());
        r.put("end", any.path("end").asText());
        r.put("reason", reason);
        r.put("applied", applied);
        r.put("digests", digests);
        notConverged.add(r);
      }
    }
    out.put("ok", converged == byRange.size() && !byRange.isEmpty());
    out.put("ranges", byRange.size());
    out.put("converged", converged);
    out.put("diverged", diverged);
    if (!notConverged.isEmpty()) {
      out.put("notConverged", notConverged);
    }
    return out;
  }

  /**
   * The nodes that should hold a range: the voters and learners its most advanced replica names,
   * or every node when no replica names any.
   */
  private static java.util.Set<Integer> holders(Map<Integer, JsonNode> replicas, java.util.Set<Integer> nodes) {
    JsonNode best = null;
    for (JsonNode r : replicas.values()) {
      if (best == null || r.path("applied").asLong() > best.path("applied").asLong()) {
        best = r;
      }
    }
    java.util.Set<Integer> out = new java.util.TreeSet<>();
    if (best != null) {
      for (String field : List.of("voters", "learners")) {
        for (JsonNode id : best.path(field)) {
          out.add(id.asInt());
        }
      }
    }
    if (out.isEmpty()) {
      return new java.util.TreeSet<>(nodes);
    }
    out.retainAll(nodes);
    return out;
  }
}
