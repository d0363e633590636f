package io.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The per-range convergence verdict on /status answers: it has teeth. */
class RangeConvergenceTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode node(String... ranges) throws Exception {
    return JSON.readTree("{\"role\":\"FOLLOWER\",\"ranges\":[" + String.join(",", ranges) + "]}");
  }

  private static String range(int id, long applied, String digest) {
    return "{\"id\":" + id + ",\"start\":\"s" + id + "\",\"end\":\"\",\"applied\":" + applied
        + ",\"digest\":\"" + digest + "\"}";
  }

  private static Map<Integer, JsonNode> cluster(JsonNode... nodes) {
    Map<Integer, JsonNode> m = new TreeMap<>();
    for (int i = 0; i < nodes.length; i++) {
      m.put(i + 1, nodes[i]);
    }
    return m;
  }

  @Test
  void everyRangeEqualOnEveryNodeConverges() throws Exception {
    JsonNode n = node(range(1, 40, "aa"), range(2, 12, "bb"));
    Map<String, Object> v = RangeConvergence.judge(cluster(n, n, n));
    assertThat(v).containsEntry("ok", true).containsEntry("ranges", 2)
        .containsEntry("converged", 2).containsEntry("diverged", 0);
  }

  @Test
  void aRangeAtEqualAppliedWithAnotherDigestHasDiverged() throws Exception {
    Map<String, Object> v = RangeConvergence.judge(cluster(
        node(range(1, 40, "aa"), range(2, 12, "bb")),
        node(range(1, 40, "aa"), range(2, 12, "bX")),
        node(range(1, 40, "aa"), range(2, 12, "bb"))));
    assertThat(v).containsEntry("ok", false).containsEntry("converged", 1)
        .containsEntry("diverged", 1);
    assertThat(v.get("notConverged").toString()).contains("range=2").contains("DIVERGED");
  }

  @Test
  void laggingAndMissingReplicasAndSilentNodesDoNotConverge() throws Exception {
    Map<String, Object> lag = RangeConvergence.judge(cluster(
        node(range(1, 40, "aa")), node(range(1, 39, "a0")), node(range(1, 40, "aa"))));
    assertThat(lag).containsEntry("ok", false).containsEntry("diverged", 0);
    assertThat(lag.get("notConverged").toString()).contains("applied indexes differ");

    Map<String, Object> missing = RangeConvergence.judge(cluster(
        node(range(1, 40, "aa"), range(3, 11, "cc")), node(range(1, 40, "aa")),
        node(range(1, 40, "aa"), range(3, 11, "cc"))));
    assertThat(missing).containsEntry("ok", false).containsEntry("converged", 1);
    assertThat(missing.get("notConverged").toString()).contains("missing on nodes [2]");

    JsonNode n = node(range(1, 40, "aa"));
    assertThat(RangeConvergence.judge(cluster(n, null, n))).containsEntry("ok", false)
        .containsEntry("reason", "no status from nodes [2]");
  }

  private static String placed(int id, long applied, String digest, String voters) {
    return "{\"id\":" + id + ",\"start\":\"s" + id + "\",\"end\":\"\",\"applied\":" + applied
        + ",\"digest\":\"" + digest + "\",\"voters\":[" + voters + "],\"learners\":[]}";
  }

  @Test
  void aRangeIsJudgedOnTheNodesItsConfigurationNamesOnly() throws Exception {
    // Range 2 lives on nodes 1 and 3; node 2's stale copy (moved away, not deleted yet) is not judged.
    Map<String, Object> placedOk = RangeConvergence.judge(cluster(
        node(range(1, 40, "aa"), placed(2, 12, "bb", "1,3")),
        node(range(1, 40, "aa"), placed(2, 5, "old", "1,2,3")),
        node(range(1, 40, "aa"), placed(2, 12, "bb", "1,3"))));
    assertThat(placedOk).containsEntry("ok", true).containsEntry("converged", 2);
    // A node the configuration names but that lacks the range: not converged.
    Map<String, Object> lacking = RangeConvergence.judge(cluster(
        node(range(1, 40, "aa"), placed(2, 12, "bb", "1,2")),
        node(range(1, 40, "aa")),
        node(range(1, 40, "aa"))));
    assertThat(lacking).containsEntry("ok", false);
    assertThat(lacking.get("notConverged").toString()).contains("missing on nodes [2]");
  }
}
