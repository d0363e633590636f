package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Member;
import io.flotilla.client.proto.MemberChangeRequest;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.server.net.RawClient;
import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Membership through the client protocol on real nodes in one JVM: bootstrap and join, learners
 * promoted automatically or on command, removing the leader, replacing a dead node.
 */
class MembershipTest {
  @TempDir Path dir;
  private final Map<Long, int[]> ports = new TreeMap<>();
  private final Map<Long, FlotillaNode> nodes = new TreeMap<>();

  @AfterEach
  void stopAll() throws Exception {
    for (FlotillaNode n : nodes.values()) {
      n.close();
    }
  }

  private static int freePort() {
    return TestPorts.freePort();
  }

  private NodeConfig.Member member(long id) throws Exception {
    int[] p = ports.computeIfAbsent(id, k -> new int[3]);
    if (p[0] == 0) {
      p[0] = freePort();
      p[1] = freePort();
      p[2] = freePort();
    }
    return new NodeConfig.Member(new Endpoint("localhost", p[1]), new Endpoint("127.0.0.1", p[0]));
  }

  private FlotillaNode start(long id, Map<Long, NodeConfig.Member> members, MembershipOptions options)
      throws Exception {
    int[] p = ports.get(id);
    FlotillaNode n = FlotillaNode.start(new NodeConfig(id, dir.resolve("n" + id),
        new Endpoint("127.0.0.1", p[0]), new Endpoint("127.0.0.1", p[1]),
        new Endpoint("127.0.0.1", p[2]), members, 50, NodeConfig.DEFAULT_SNAPSHOT_ENTRIES, 0), options);
    nodes.put(id, n);
    return n;
  }

  /** A node that joins through {@code via}'s client port. */
  private FlotillaNode join(long id, long via, long promoteGap) throws Exception {
    return start(id, Map.of(id, member(id)),
        MembershipOptions.joining(new Endpoint("127.0.0.1", ports.get(via)[0])).withPromoteGap(promoteGap));
  }

  private void stop(long id) throws Exception {
    nodes.remove(id).close();
  }

  private FlotillaClient client() {
    String endpoints = nodes.keySet().stream().map(id -> "127.0.0.1:" + ports.get(id)[0])
        .collect(Collectors.joining(","));
    return new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(20)));
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private static Map<Long, String> roles(FlotillaClient c) {
    Map<Long, String> out = new TreeMap<>();
    for (Member m : c.blocking().members().getMembersList()) {
      out.put(m.getId(), m.getRole());
    }
    return out;
  }

  private void awaitConverged() {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      var list = nodes.values().stream().toList();
      long a = list.get(0).appliedIndex();
      byte[] d = list.get(0).digest();
      return list.stream().allMatch(n -> n.appliedIndex() == a && Arrays.equals(n.digest(), d));
    });
  }

  private static void assertRefusesClientsAsRemoved(FlotillaNode n) throws Exception {
    try (RawClient raw = new RawClient(n.clientAddress())) {
      raw.send(Request.newBuilder().setRequestId(7).setPut(PutRequest.newBuilder()
          .setKey(ByteString.copyFromUtf8("x")).setValue(ByteString.copyFromUtf8("y"))).build());
      Response r = raw.read();
      assertThat(r.getError().getCode()).isEqualTo(Error.Code.NODE_UNAVAILABLE);
      assertThat(r.getError().getMessage()).contains("removed from the cluster");
    }
  }

  private static MemberChangeRequest change(MemberChangeRequest.Kind kind, long id) {
    return MemberChangeRequest.newBuilder().setKind(kind).setNodeId(id).build();
  }

  @Test
  void aBootstrappedNodeGrowsToThreeVotersByJoinAndTheyCarryOnWithoutIt() throws Exception {
    FlotillaNode first = start(1, Map.of(1L, member(1)), MembershipOptions.STATIC);
    await().atMost(Duration.ofSeconds(20)).until(first::isLeader);
    try (FlotillaClient c = client()) {
      for (int i = 0; i < 50; i++) {
        c.blocking().put(b("k" + i), b("v" + i));
      }
    }
    join(2, 1, MembershipOptions.DEFAULT_PROMOTE_GAP);
    join(3, 1, MembershipOptions.DEFAULT_PROMOTE_GAP);
    try (FlotillaClient c = client()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> roles(c),
          r -> r.equals(Map.of(1L, "voter", 2L, "voter", 3L, "voter")));
      var listed = c.blocking().members().getMembersList();
      assertThat(listed).allSatisfy(m -> assertThat(m.getPeerAddress()).startsWith("localhost:"));
      c.blocking().put(b("after-join"), b("x"));
    }
    awaitConverged();
    // Nodes 2 and 3 now form a quorum of their own: the bootstrap node can go.
    stop(1);
    try (FlotillaClient c = client()) {
      c.blocking().put(b("without-1"), b("y"));
      assertThat(c.blocking().get(b("k7"), Consistency.LINEARIZABLE).orElseThrow()).isEqualTo(b("v7"));
    }
    // A restarted joiner keeps its membership and does not join twice.
    stop(3);
    join(3, 2, MembershipOptions.DEFAULT_PROMOTE_GAP);
    try (FlotillaClient c = client()) {
      assertThat(c.blocking().get(b("without-1"), Consistency.LINEARIZABLE).orElseThrow()).isEqualTo(b("y"));
      assertThat(roles(c)).containsEntry(3L, "voter");
    }
  }

  @Test
  void everyRangeFollowsTheClusterAsNodesJoinAndTheLeaderLeaves() throws Exception {
    FlotillaNode first = start(1, Map.of(1L, member(1)), MembershipOptions.STATIC);
    await().atMost(Duration.ofSeconds(20)).until(first::isLeader);
    try (FlotillaClient c = client()) {
      for (char k = 'a'; k <= 'z'; k++) {
        c.blocking().put(b(String.valueOf(k)), b("v" + k));
      }
      c.splitRange(b("h")).get(10, java.util.concurrent.TimeUnit.SECONDS);
      c.splitRange(b("p")).get(10, java.util.concurrent.TimeUnit.SECONDS);
    }
    // Two nodes join the system range; every other range adds them as learners (placeholders
    // that receive the range's snapshot), then promotes them once the cluster has.
    join(2, 1, MembershipOptions.DEFAULT_PROMOTE_GAP);
    join(3, 1, MembershipOptions.DEFAULT_PROMOTE_GAP);
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      for (long n = 1; n <= 3; n++) {
        for (long r = 1; r <= 3; r++) {
          assertThat(nodes.get(n).rangeConfiguration(r).allVoters()).as("range %d on node %d", r, n)
              .containsExactlyInAnyOrder(1L, 2L, 3L);
          assertThat(nodes.get(n).placeholders()).isEmpty();
        }
      }
    });
    try (FlotillaClient c = client()) {
      for (String k : List.of("c", "k", "x")) {
        c.blocking().put(b(k), b("joined"));
      }
    }
    awaitRangesConverged(1, 2, 3);
    // The system range's leader leaves: it removes itself from every range it leads too, and the
    // two others serve every range.
    long leader = await().atMost(Duration.ofSeconds(20)).until(
        () -> nodes.entrySet().stream().filter(e -> e.getValue().isLeader()).map(Map.Entry::getKey)
            .findFirst().orElse(0L), id -> id != 0);
    try (FlotillaClient c = client()) {
      c.blocking().changeMembers(change(MemberChangeRequest.Kind.REMOVE, leader));
    }
    List<Long> rest = nodes.keySet().stream().filter(n -> n != leader).toList();
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      for (long n : rest) {
        for (long r = 1; r <= 3; r++) {
          assertThat(nodes.get(n).rangeConfiguration(r).members()).as("range %d on node %d", r, n)
              .containsExactlyInAnyOrderElementsOf(rest);
        }
      }
    });
    stop(leader);
    try (FlotillaClient c = client()) {
      for (String k : List.of("c", "k", "x")) {
        c.blocking().put(b(k), b("after-" + leader + "-left"));
        assertThat(c.blocking().get(b(k), Consistency.LINEARIZABLE).orElseThrow())
            .isEqualTo(b("after-" + leader + "-left"));
      }
    }
    awaitRangesConverged(1, 2, 3);
  }

  private void awaitRangesConverged(long... rangeIds) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      for (long r : rangeIds) {
        assertThat(nodes.values().stream().map(n -> n.rangeDigest(r)).distinct().toList())
            .as("range %d's digests", r).hasSize(1).doesNotContain("absent");
      }
    });
  }

  @Test
  void nodesJoinWithIdsTheClusterHandsOutAndALostDataDirectoryCannotComeBackAsItsMember() throws Exception {
    FlotillaNode first = start(1, Map.of(1L, member(1)), MembershipOptions.STATIC);
    await().atMost(Duration.ofSeconds(20)).until(first::isLeader);
    Endpoint via = new Endpoint("127.0.0.1", ports.get(1L)[0]);
    // Ids above every member and every id handed out before, never the same twice.
    long a = NodeIds.allocate(via, Duration.ofSeconds(30));
    long b = NodeIds.allocate(via, Duration.ofSeconds(30));
    assertThat(List.of(a, b)).containsExactly(2L, 3L);
    NodeIdentity identity = NodeIdentity.create(dir.resolve("n" + b), b);
    member(b);
    start(b, Map.of(b, member(b)), MembershipOptions.joining(via).withIncarnation(identity.incarnation()));
    try (FlotillaClient c = client()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> roles(c), r -> r.equals(Map.of(1L, "voter", b, "voter")));
      // The node loses its data directory and comes back under the same id: its log and votes are
      // gone, so the cluster refuses it (a retried join from the same directory is still fine).
      MemberChangeRequest.Builder rejoin = MemberChangeRequest.newBuilder()
          .setKind(MemberChangeRequest.Kind.ADD_LEARNER).setNodeId(b).setPeerAddress(member(b).peer().toString())
          .setClientAddress(member(b).client().toString());
      assertThat(c.blocking().changeMembers(rejoin.setIncarnation(identity.incarnation()).build())
          .getMembersList()).extracting(Member::getId).contains(b);
      assertThatThrownBy(() -> c.blocking().changeMembers(rejoin.setIncarnation(identity.incarnation() + 1).build()))
          .hasMessageContaining("already a member with another data directory");
      // The next id handed out is past both.
      assertThat(NodeIds.allocate(via, Duration.ofSeconds(30))).isEqualTo(4L);
    }
  }

  @Test
  void aLearnerStaysOneUntilPromotedOnCommand() throws Exception {
    start(1, Map.of(1L, member(1)), MembershipOptions.STATIC.withPromoteGap(-1));
    await().atMost(Duration.ofSeconds(20)).until(() -> nodes.get(1L).isLeader());
    join(2, 1, -1);
    try (FlotillaClient c = client()) {
      c.blocking().put(b("a"), b("1"));
      await().atMost(Duration.ofSeconds(20)).until(() -> roles(c), r -> r.equals(Map.of(1L, "voter", 2L, "learner")));
      awaitConverged();
      assertThat(roles(c)).containsEntry(2L, "learner");
      // A learner does not count: the single voter still commits alone.
      c.blocking().put(b("b"), b("2"));
      var after = c.blocking().changeMembers(change(MemberChangeRequest.Kind.PROMOTE, 2));
      assertThat(after.getMembersList()).extracting(Member::getRole).containsOnly("voter");
      // Promoting again is refused with a clear error.
      assertThatThrownBy(() -> c.blocking().changeMembers(change(MemberChangeRequest.Kind.PROMOTE, 2)))
          .isInstanceOf(FlotillaException.class).hasMessageContaining("ALREADY_VOTER")
          .extracting(e -> ((FlotillaException) e).code()).isEqualTo(Error.Code.INVALID_ARGUMENT);
    }
  }

  @Test
  void removingTheLeaderHandsTheClusterToTheOthersAndTheRemovedNodeRefusesClients() throws Exception {
    Map<Long, NodeConfig.Member> members = Map.of(1L, member(1), 2L, member(2), 3L, member(3));
    for (long id = 1; id <= 3; id++) {
      start(id, members, MembershipOptions.STATIC);
    }
    long leader = await().atMost(Duration.ofSeconds(20)).until(
        () -> nodes.entrySet().stream().filter(e -> e.getValue().isLeader()).map(Map.Entry::getKey)
            .findFirst().orElse(0L), id -> id != 0);
    try (FlotillaClient c = client()) {
      c.blocking().put(b("before"), b("1"));
      var after = c.blocking().changeMembers(change(MemberChangeRequest.Kind.REMOVE, leader));
      assertThat(after.getMembersList()).extracting(Member::getId).doesNotContain(leader).hasSize(2);
    }
    FlotillaNode removed = nodes.get(leader);
    await().atMost(Duration.ofSeconds(20)).until(removed::isRemoved);
    assertThat(removed.isLeader()).isFalse();
    stop(leader);
    try (FlotillaClient c = client()) {
      c.blocking().put(b("after"), b("2"));
      assertThat(roles(c)).hasSize(2).doesNotContainKey(leader);
    }
    // Restarted, the removed node still knows it was removed and sends clients away.
    Map<Long, NodeConfig.Member> again = Map.of(1L, member(1), 2L, member(2), 3L, member(3));
    FlotillaNode back = start(leader, again, MembershipOptions.STATIC);
    await().atMost(Duration.ofSeconds(20)).until(back::isRemoved);
    assertRefusesClientsAsRemoved(back);
  }

  @Test
  void aDeadNodeIsReplacedByANewOneAndItsIdIsNeverReused() throws Exception {
    Map<Long, NodeConfig.Member> members = Map.of(1L, member(1), 2L, member(2), 3L, member(3));
    for (long id = 1; id <= 3; id++) {
      start(id, members, MembershipOptions.STATIC);
    }
    try (FlotillaClient c = client()) {
      for (int i = 0; i < 20; i++) {
        c.blocking().put(b("k" + i), b("v" + i));
      }
    }
    stop(3); // dead for good: its disk is lost
    try (FlotillaClient c = client()) {
      c.blocking().changeMembers(change(MemberChangeRequest.Kind.REMOVE, 3));
      member(4);
      join(4, 2, MembershipOptions.DEFAULT_PROMOTE_GAP);
      await().atMost(Duration.ofSeconds(30)).until(() -> roles(c),
          r -> r.equals(Map.of(1L, "voter", 2L, "voter", 4L, "voter")));
      try {
        c.blocking().changeMembers(MemberChangeRequest.newBuilder().setKind(MemberChangeRequest.Kind.ADD_LEARNER)
            .setNodeId(3).setPeerAddress("localhost:1").setClientAddress("localhost:2").build());
        throw new AssertionError("re-adding a removed id must be refused");
      } catch (FlotillaException | CompletionException e) {
        assertThat(e).hasMessageContaining("never reused");
      }
    }
    awaitConverged();
    // The new node is a full voter: with node 1 gone, 2 and 4 still commit.
    stop(1);
    try (FlotillaClient c = client()) {
      c.blocking().put(b("after-replace"), b("z"));
      assertThat(c.blocking().get(b("k3"), Consistency.LINEARIZABLE).orElseThrow()).isEqualTo(b("v3"));
    }
    // Node 3 comes back after all, with the disk it had: it never received its removal (the
    // leader no longer replicates to it), so it still believes it is a voter of {1, 2, 3}. With no
    // leader it asks the others, learns that it was removed, and sends clients away.
    FlotillaNode back = start(3, members, MembershipOptions.STATIC);
    assertThat(back.isRemoved()).isFalse();
    await().atMost(Duration.ofSeconds(30)).until(back::isRemoved);
    assertRefusesClientsAsRemoved(back);
    try (FlotillaClient c = client()) {
      assertThat(c.blocking().members().getRemovedIdsList()).containsExactly(3L);
    }
  }
}
