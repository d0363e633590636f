package io.flotilla.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * After the heal: every node holds the same ranges, and every range's replicas reach one applied
 * index with one state digest ({@code /status} "ranges" of each node). A range whose replicas
 * show equal applied indexes with different digests has diverged; one that some node lacks
 * (it missed the split: docs/ranges.md, "Placeholders") never converges.
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
      Map<Integer, JsonNode> replicas = e.getValue();
      Map<Integer, Long> applied = new TreeMap<>();
      Map<Integer, String> digests = new TreeMap<>();
      replicas.forEach((node, r) -> {
        applied.put(node, r.path("applied").asLong());
        digests.put(node, r.path("digest").asText());
      });
      String reason = null;
      if (replicas.size() < statuses.size()) {
        List<Integer> missing = statuses.keySet().stream().filter(n -> !replicas.containsKey(n)).toList();
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
}
