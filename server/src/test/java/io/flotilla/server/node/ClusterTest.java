package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real three-node cluster in one JVM: WALs with fsync, RocksDB, Netty on loopback, the Java
 * client. Stopping the leader, restarting a node and restarting the whole cluster lose no
 * acknowledged write, and the replicas converge to the same state.
 */
class ClusterTest {
  @TempDir Path dir;
  private final Map<Long, NodeConfig.Member> members = new HashMap<>();
  private final Map<Long, int[]> ports = new HashMap<>();
  private final FlotillaNode[] nodes = new FlotillaNode[3];

  @AfterEach
  void stopAll() throws Exception {
    for (FlotillaNode n : nodes) {
      if (n != null) {
        n.close();
      }
    }
  }

  private static int freePort() {
    return TestPorts.freePort();
  }

  private void plan() throws Exception {
    for (long id = 1; id <= 3; id++) {
      int[] p = {freePort(), freePort(), freePort()};
      ports.put(id, p);
      members.put(id, new NodeConfig.Member(new Endpoint("localhost", p[1]),
          new Endpoint("127.0.0.1", p[0])));
    }
  }

  private long snapshotEntries = NodeConfig.DEFAULT_SNAPSHOT_ENTRIES;

  private void start(long id) throws Exception {
    int[] p = ports.get(id);
    nodes[(int) id - 1] = FlotillaNode.start(new NodeConfig(id, dir.resolve("n" + id),
        new Endpoint("127.0.0.1", p[0]), new Endpoint("127.0.0.1", p[1]),
        new Endpoint("127.0.0.1", p[2]), members, 50, snapshotEntries, 0).withLeaseReads(leaseReads));
  }

  private boolean leaseReads;

  private void stop(int i) throws Exception {
    nodes[i].close();
    nodes[i] = null;
  }

  private String endpoints() {
    StringBuilder sb = new StringBuilder();
    for (long id = 1; id <= 3; id++) {
      sb.append(sb.length() == 0 ? "" : ",").append("127.0.0.1:").append(ports.get(id)[0]);
    }
    return sb.toString();
  }

  private FlotillaClient client() {
    return new FlotillaClient(ClientOptions.of(endpoints())
        .withRequestTimeout(Duration.ofSeconds(20)));
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private int leader() {
    return await().atMost(Duration.ofSeconds(20)).until(() -> {
      for (int i = 0; i < 3; i++) {
        if (nodes[i] != null && nodes[i].isLeader()) {
          return i;
        }
      }
      return -1;
    }, i -> i >= 0);
  }

  private void awaitConverged() {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      long a = nodes[0].appliedIndex();
      return nodes[1].appliedIndex() == a && nodes[2].appliedIndex() == a
          && Arrays.equals(nodes[0].digest(), nodes[1].digest())
          && Arrays.equals(nodes[0].digest(), nodes[2].digest());
    });
  }

  @Test
  void withLeaseReadsEveryLinearizableReadSeesTheWritesAcknowledgedBeforeIt() throws Exception {
    leaseReads = true;
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    try (FlotillaClient c = client()) {
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 30; i++) {
          c.blocking().put(b("lease"), b(round + "-" + i));
          assertThat(c.blocking().get(b("lease"), Consistency.LINEARIZABLE).orElseThrow())
              .isEqualTo(b(round + "-" + i));
        }
        if (round == 0) {
          // The next leader must first commit in its term and hold its own lease.
          stop(leader());
        }
      }
    }
  }

  @Test
  void writesSurviveLeaderLossNodeRestartAndFullRestart() throws Exception {
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    List<String> acknowledged = new ArrayList<>();
    long counter;
    try (FlotillaClient c = client()) {
      for (int i = 0; i < 30; i++) {
        c.blocking().put(b("k" + i), b("v" + i));
        acknowledged.add("k" + i);
      }
      for (int i = 0; i < 10; i++) {
        c.blocking().incr(b("counter"), 1);
      }
      // Read-your-writes at every consistency that promises it.
      assertThat(c.blocking().get(b("k29"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v29")));
      assertThat(c.blocking().get(b("k29"), Consistency.FOLLOWER))
          .hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v29")));

      // The leader goes away; the others elect a new one and writes go on.
      int old = leader();
      stop(old);
      for (int i = 30; i < 45; i++) {
        c.blocking().put(b("k" + i), b("v" + i));
        acknowledged.add("k" + i);
      }
      counter = c.blocking().incr(b("counter"), 1);
      assertThat(counter).isEqualTo(11);

      // It comes back and catches up from the log.
      start(old + 1);
      awaitConverged();
    }
    // Everyone down, everyone up: every acknowledged write is still there.
    for (int i = 0; i < 3; i++) {
      stop(i);
    }
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    try (FlotillaClient c = client()) {
      for (String k : acknowledged) {
        String v = "v" + k.substring(1);
        assertThat(c.blocking().get(b(k))).as(k).hasValueSatisfying(x -> assertThat(x).isEqualTo(b(v)));
      }
      assertThat(c.blocking().incr(b("counter"), 0)).isEqualTo(11);
      awaitConverged();
    }
  }

  @Test
  void aRetriedWriteWithTheSameSessionAppliesOnce() throws Exception {
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    int leader = leader();
    java.net.InetSocketAddress at = nodes[leader].clientAddress();
    io.flotilla.client.proto.Request incr = io.flotilla.client.proto.Request.newBuilder()
        .setRequestId(1).setClientId(424242).setSequence(1)
        .setIncr(io.flotilla.client.proto.IncrRequest.newBuilder()
            .setKey(com.google.protobuf.ByteString.copyFromUtf8("once")).setDelta(5))
        .build();
    try (java.net.Socket sock = new java.net.Socket(at.getAddress(), at.getPort())) {
      sock.setSoTimeout(20_000);
      java.io.DataOutputStream out = new java.io.DataOutputStream(sock.getOutputStream());
      java.io.DataInputStream in = new java.io.DataInputStream(sock.getInputStream());
      for (int attempt = 0; attempt < 2; attempt++) {
        // The same (client id, sequence) twice: a client retrying after a lost response.
        byte[] body = incr.toByteArray();
        out.writeInt(body.length);
        out.write(body);
        out.flush();
        byte[] resp = new byte[in.readInt()];
        in.readFully(resp);
        io.flotilla.client.proto.Response r = io.flotilla.client.proto.Response.parseFrom(resp);
        assertThat(r.hasError()).as(r.toString()).isFalse();
        assertThat(r.getIncr().getValue()).isEqualTo(5);
      }
    }
    try (FlotillaClient c = client()) {
      assertThat(c.blocking().get(b("once"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("5")));
    }
  }

  @Test
  void aFollowerBehindTheCompactedLogCatchesUpFromASnapshot() throws Exception {
    snapshotEntries = 100;
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    int leader = leader();
    int lagging = (leader + 1) % 3;
    try (FlotillaClient c = client()) {
      c.blocking().put(b("before"), b("1"));
      stop(lagging);
      for (int i = 0; i < 400; i++) {
        c.blocking().put(b("k" + i), b("v" + i));
      }
      // The leader has snapshotted and compacted its log past everything the stopped node has.
      await().atMost(Duration.ofSeconds(20)).until(() -> nodes[leader].raftStatus().snapshotIndex() > 100);
      start(lagging + 1);
      awaitConverged();
      assertThat(nodes[lagging].raftStatus().snapshotIndex()).as("installed from the leader").isPositive();
      // And it keeps applying entries after the snapshot.
      c.blocking().put(b("after"), b("2"));
      awaitConverged();
    }
    // A restart after the install starts from the installed state, not an empty one.
    stop(lagging);
    start(lagging + 1);
    awaitConverged();
    try (FlotillaClient c = client()) {
      assertThat(c.blocking().get(b("k399"), Consistency.FOLLOWER))
          .hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v399")));
    }
  }

  @Test
  void garbageOnTheClientPortClosesThatConnectionOnly() throws Exception {
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    int leader = leader();
    java.net.InetSocketAddress at = nodes[leader].clientAddress();
    try (FlotillaClient c = client()) {
      c.blocking().put(b("x"), b("1"));
      byte[][] attacks = {
          {0x00, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5},        // a frame that is not a request
          {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff},  // a 2 GiB length
          {0x00, 0x00, 0x01, 0x00, 1, 2},                 // truncated, then the peer goes away
      };
      for (byte[] attack : attacks) {
        try (java.net.Socket sock = new java.net.Socket(at.getAddress(), at.getPort())) {
          sock.setSoTimeout(10_000);
          sock.getOutputStream().write(attack);
          sock.getOutputStream().flush();
          if (attack != attacks[2]) {
            // The node answers with an error or just closes; either way the stream ends.
            java.io.InputStream in = sock.getInputStream();
            while (in.read() >= 0) {
              // drain until the node closes the connection
            }
          }
        }
      }
      // The existing client connection and the node are unaffected.
      assertThat(c.blocking().incr(b("n"), 1)).isEqualTo(1);
      assertThat(c.blocking().get(b("x"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("1")));
    }
  }

  private static double metric(String scrape, String series) {
    return scrape.lines().filter(l -> l.startsWith(series + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
        .orElseThrow(() -> new AssertionError("no series " + series + " in /metrics"));
  }

  private static String scrape(FlotillaNode node) throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:"
        + node.adminAddress().getPort() + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
  }

  @Test
  void metricsOnALiveNodeExistAndMove() throws Exception {
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    leader();
    // Summed over the nodes: on a loaded machine leadership may move between the scrapes, and
    // leader-side series (proposals, reads) then move on another node.
    String[] before = scrapeAll();
    try (FlotillaClient c = client()) {
      for (int i = 0; i < 20; i++) {
        c.blocking().put(b("m" + i), b("v"));
      }
      c.blocking().get(b("m1"));
    }
    int leader = leader();
    String[] after = scrapeAll();
    for (String series : List.of("flotilla_wal_force_seconds_count", "flotilla_wal_bytes_total",
        "flotilla_raft_persist_seconds_count", "flotilla_raft_apply_seconds_count",
        "flotilla_raft_entries_applied_total", "flotilla_raft_propose_to_apply_seconds_count",
        "flotilla_raft_propose_to_commit_seconds_count", "flotilla_raft_commit_to_apply_seconds_count",
        "flotilla_raft_proposals_total", "flotilla_raft_entries_committed_total",
        "flotilla_raft_read_index_seconds_count", "flotilla_raft_read_index_batch_count",
        "flotilla_raft_commit_index", "flotilla_raft_applied_index",
        "flotilla_client_requests_seconds_count{op=\"put\"}", "flotilla_client_requests_seconds_count{op=\"get\"}")) {
      assertThat(sum(after, series)).as(series).isGreaterThan(sum(before, series));
    }
    // Each put is applied once; redirected attempts count as requests too.
    assertThat(sum(after, "flotilla_raft_proposals_total") - sum(before, "flotilla_raft_proposals_total"))
        .isGreaterThanOrEqualTo(20);
    assertThat(sum(after, "flotilla_client_requests_seconds_count{op=\"put\"}")
        - sum(before, "flotilla_client_requests_seconds_count{op=\"put\"}")).isGreaterThanOrEqualTo(20);
    String onLeader = scrape(nodes[leader]);
    assertThat(metric(onLeader, "flotilla_raft_leader")).isEqualTo(1);
    assertThat(metric(onLeader, "flotilla_raft_term")).isPositive();
    assertThat(metric(onLeader, "flotilla_wal_segments")).isPositive();
    assertThat(metric(onLeader, "flotilla_client_inflight")).isZero();
    assertThat(onLeader).contains("flotilla_raft_apply_lag", "flotilla_raft_leader_changes_total",
        "flotilla_raft_elections_started_total", "flotilla_snapshots_taken_total", "flotilla_wal_disk_bytes",
        "jvm_memory_used_bytes");
  }

  private String[] scrapeAll() throws Exception {
    String[] out = new String[3];
    for (int i = 0; i < 3; i++) {
      out[i] = scrape(nodes[i]);
    }
    return out;
  }

  private static double sum(String[] scrapes, String series) {
    double total = 0;
    for (String s : scrapes) {
      total += metric(s, series);
    }
    return total;
  }

  @Test
  void membersAreListedAndLeadershipMovesOnRequest() throws Exception {
    plan();
    for (long id = 1; id <= 3; id++) {
      start(id);
    }
    int leader = leader();
    long target = (leader + 1) % 3 + 1;
    try (FlotillaClient c = client()) {
      c.blocking().put(b("x"), b("1"));
      var members = c.blocking().members();
      assertThat(members.getMembersList()).extracting(m -> m.getId()).containsExactly(1L, 2L, 3L);
      assertThat(members.getMembersList()).filteredOn(m -> m.getLeader()).singleElement()
          .satisfies(m -> assertThat(m.getId()).isEqualTo(leader + 1L));
      assertThat(members.getMembersList()).allSatisfy(m -> assertThat(m.getRole()).isEqualTo("voter"));
      assertThat(c.blocking().transferLeader(target)).isEqualTo(target);
      assertThat(nodes[(int) target - 1].isLeader()).isTrue();
      c.blocking().put(b("y"), b("2"));
      assertThat(c.blocking().members().getLeaderId()).isEqualTo(target);
    }
  }
}
