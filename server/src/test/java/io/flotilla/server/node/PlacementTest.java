package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.NodeInfo;
import io.flotilla.client.proto.NodeListResult;
import io.flotilla.client.proto.RangeInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Placement on real nodes in one JVM (docs/placement.md), under a steady stream of writes: two
 * nodes that join take their share of replicas and leaders; a decommissioned node is drained and
 * leaves; a node silent for longer than {@code --dead-after} has its replicas rebuilt on the
 * others. Every acknowledged write is there at the end.
 */
class PlacementTest {
  private static final Duration DEAD_AFTER = Duration.ofSeconds(3);

  @TempDir Path dir;
  private final Map<Long, int[]> ports = new TreeMap<>();
  private final Map<Long, FlotillaNode> nodes = new ConcurrentHashMap<>();

  @AfterEach
  void stopAll() throws Exception {
    for (FlotillaNode n : nodes.values()) {
      n.close();
    }
  }

  private NodeConfig.Member member(long id) {
    int[] p = ports.computeIfAbsent(id, k -> new int[] {TestPorts.freePort(), TestPorts.freePort(), TestPorts.freePort()});
    return new NodeConfig.Member(new Endpoint("localhost", p[1]), new Endpoint("127.0.0.1", p[0]));
  }

  private void start(long id, Map<Long, NodeConfig.Member> members, MembershipOptions options) throws Exception {
    int[] p = ports.get(id);
    nodes.put(id, FlotillaNode.start(new NodeConfig(id, dir.resolve("n" + id), new Endpoint("127.0.0.1", p[0]),
        new Endpoint("127.0.0.1", p[1]), new Endpoint("127.0.0.1", p[2]), members, 50,
        NodeConfig.DEFAULT_SNAPSHOT_ENTRIES, 0), options.withDeadAfter(DEAD_AFTER)));
  }

  private FlotillaClient client() {
    String endpoints = ports.values().stream().map(p -> "127.0.0.1:" + p[0]).collect(Collectors.joining(","));
    return new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(20)));
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  @Test
  void joinersTakeTheirShareADecommissionedNodeDrainsAndADeadNodesReplicasAreRebuilt() throws Exception {
    Map<Long, NodeConfig.Member> three = new TreeMap<>();
    for (long id = 1; id <= 5; id++) {
      NodeConfig.Member m = member(id);
      if (id <= 3) {
        three.put(id, m);
      }
    }
    for (long id = 1; id <= 3; id++) {
      start(id, three, MembershipOptions.STATIC);
    }
    Map<String, String> acknowledged = new ConcurrentHashMap<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicLong failures = new AtomicLong();
    try (FlotillaClient c = client()) {
      for (int i = 0; i < 100; i++) {
        c.blocking().put(b(String.format("k%03d", i)), b("v0"));
      }
      for (int i = 8; i < 100; i += 8) {
        c.splitRange(b(String.format("k%03d", i))).get(30, java.util.concurrent.TimeUnit.SECONDS);
      }
      assertThat(c.ranges().get().getRangesCount()).isEqualTo(13);
      Thread writer = new Thread(() -> {
        for (long n = 1; writing.get(); n++) {
          String k = String.format("k%03d", n % 100);
          try {
            c.blocking().put(b(k), b("v" + n));
            acknowledged.put(k, "v" + n);
          } catch (RuntimeException e) {
            failures.incrementAndGet();
          }
        }
      }, "writer");
      writer.start();
      try {
        // Two nodes join: they get replicas until every node holds about a fifth, and leaders.
        for (long id = 4; id <= 5; id++) {
          start(id, Map.of(id, member(id)), MembershipOptions.joining(new Endpoint("127.0.0.1", ports.get(1L)[0])));
        }
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
          NodeListResult list = c.nodes().get();
          assertThat(list.getNodesList()).hasSize(5).allMatch(n -> n.getState().equals("live"));
          assertThat(list.getPendingMoves()).isZero();
          int total = list.getNodesList().stream().mapToInt(NodeInfo::getReplicas).sum();
          for (NodeInfo n : list.getNodesList()) {
            assertThat(n.getReplicas()).as("node %d of %d replicas", n.getId(), total)
                .isBetween((int) Math.floor(total * 0.15), (int) Math.ceil(total * 0.25));
            assertThat(n.getLeaders()).as("node %d's leaders", n.getId()).isPositive();
          }
          for (RangeInfo r : c.ranges().get().getRangesList()) {
            if (r.getRangeId() != 1) {
              assertThat(r.getReplicasList()).as("range %d", r.getRangeId()).hasSize(3);
            }
          }
        });
        // A client that knows one node only reaches every range, held there or not: the node
        // hands the request to a holder, which hands it to the range's leader if need be.
        try (FlotillaClient one = new FlotillaClient(ClientOptions.of("127.0.0.1:" + ports.get(5L)[0])
            .withRequestTimeout(Duration.ofSeconds(20)))) {
          for (int i = 0; i < 100; i += 4) {
            String k = String.format("k%03d-one", i);
            one.blocking().put(b(k), b("via-5"));
            assertThat(one.blocking().get(b(k), Consistency.LINEARIZABLE).map(v -> new String(v, UTF_8)))
                .as(k).contains("via-5");
          }
        }
        // Node 1 is drained: it ends with nothing but the system range and leaves the cluster.
        c.decommission(1).get();
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
          assertThat(nodes.get(1L).isRemoved()).isTrue();
          assertThat(nodes.get(1L).replicaIds()).containsOnly(1L);
        });
        nodes.remove(1L).close();
        // Node 2 dies: after --dead-after its replicas are rebuilt on 3, 4 and 5.
        nodes.remove(2L).close();
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
          for (RangeInfo r : c.ranges().get().getRangesList()) {
            if (r.getRangeId() != 1) {
              assertThat(r.getReplicasList()).as("range %d", r.getRangeId()).containsExactlyInAnyOrder(3L, 4L, 5L);
            }
          }
          assertThat(c.nodes().get().getNodesList()).anyMatch(n -> n.getId() == 2 && n.getState().equals("dead"));
        });
      } finally {
        writing.set(false);
        writer.join();
      }
      assertThat(failures.get()).as("writes that failed beyond the client's retries").isZero();
      for (var e : acknowledged.entrySet()) {
        assertThat(c.blocking().get(b(e.getKey()), Consistency.LINEARIZABLE).map(v -> new String(v, UTF_8)))
            .as(e.getKey()).contains(e.getValue());
      }
    }
  }
}
