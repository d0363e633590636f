package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetRequest;
import io.flotilla.client.proto.MemberChangeRequest;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.ScanRequest;
import io.flotilla.client.proto.ScanResult;
import io.flotilla.client.wire.Frames;
import io.flotilla.server.net.RawClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests at the edges of the protocol, against real nodes: each test is the regression test of
 * a defect found by an outside client (issue 14, item 8).
 */
class RequestEdgeCasesTest {
  @TempDir Path dir;

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  // A scan of three 1 MiB values came back as one 3,145,827-byte frame, past the 2 MiB limit
  // the client enforces on what it reads.
  @Test
  void aScanOfLargeValuesIsPagedSoNoResponseExceedsTheFrameLimit() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).startAll(); FlotillaClient c = cluster.client()) {
      byte[] big = new byte[1 << 20];
      Arrays.fill(big, (byte) 'x');
      for (int i = 1; i <= 3; i++) {
        c.blocking().put(b("big" + i), big);
      }
      c.blocking().put(b("big4"), b("small"));
      List<String> keys = new ArrayList<>();
      byte[] from = b("big");
      int pages = 0;
      while (true) {
        ScanResult page = c.scan(from, b("bih"), 0, Consistency.LINEARIZABLE).join();
        pages++;
        assertThat(page.getSerializedSize()).isLessThan(Frames.DEFAULT_MAX_FRAME_BYTES);
        page.getEntriesList().forEach(e -> keys.add(e.getKey().toStringUtf8()));
        if (page.getContinuation().isEmpty()) {
          break;
        }
        from = page.getContinuation().toByteArray();
      }
      assertThat(keys).containsExactly("big1", "big2", "big3", "big4");
      assertThat(pages).isGreaterThanOrEqualTo(3);
    }
  }

  // Unknown consistency values were served as local reads.
  @Test
  void anUnknownConsistencyIsRefused() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        for (int consistency : new int[] {3, 7, -1}) {
          raw.send(Request.newBuilder().setRequestId(1).setGet(GetRequest.newBuilder()
              .setKey(bs("k")).setConsistencyValue(consistency)).build());
          Response r = raw.read();
          assertThat(r.getError().getCode()).as("get at %d", consistency).isEqualTo(Error.Code.INVALID_ARGUMENT);
          assertThat(r.getError().getMessage()).contains("unknown consistency " + consistency);
          raw.send(Request.newBuilder().setRequestId(2).setScan(ScanRequest.newBuilder()
              .setConsistencyValue(consistency)).build());
          assertThat(raw.read().getError().getCode()).as("scan at %d", consistency)
              .isEqualTo(Error.Code.INVALID_ARGUMENT);
        }
      }
    }
  }

  // A FOLLOWER read on a node that knows no leader answered NOT_LEADER without a hint: a
  // redirect to nowhere, for a read any node may serve.
  @Test
  void aFollowerReadWithNoLeaderKnownIsRetryableUnavailable() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3)) {
      cluster.start(1); // its two peers never start: no leader, ever
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        raw.send(Request.newBuilder().setRequestId(1).setTimeoutMs(5_000).setGet(GetRequest.newBuilder()
            .setKey(bs("k")).setConsistency(Consistency.FOLLOWER)).build());
        Response r = raw.read();
        assertThat(r.getError().getCode()).as("%s", r).isEqualTo(Error.Code.UNAVAILABLE);
        assertThat(r.getError().getMessage()).contains("knows no leader");
      }
    }
  }

  // A write under an applied (client_id, sequence) but with a different command got the first
  // write's success and was silently dropped.
  @Test
  void aSequenceReusedForAnotherWriteIsRefused() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        raw.send(Request.newBuilder().setRequestId(1).setClientId(42).setSequence(1)
            .setPut(PutRequest.newBuilder().setKey(bs("a")).setValue(bs("1"))).build());
        assertThat(raw.read().hasError()).isFalse();
        raw.send(Request.newBuilder().setRequestId(2).setClientId(42).setSequence(1)
            .setPut(PutRequest.newBuilder().setKey(bs("b")).setValue(bs("2"))).build());
        Response reused = raw.read();
        assertThat(reused.getError().getCode()).as("%s", reused).isEqualTo(Error.Code.SEQUENCE_REUSED);
        raw.send(Request.newBuilder().setRequestId(3).setClientId(42).setSequence(1)
            .setPut(PutRequest.newBuilder().setKey(bs("a")).setValue(bs("1"))).build());
        assertThat(raw.read().hasError()).as("the genuine retry").isFalse();
      }
      try (FlotillaClient c = cluster.client()) {
        assertThat(c.blocking().get(b("b"))).isEmpty();
      }
    }
  }

  // `member remove 999` answered "not a member" without the documented UNKNOWN_NODE.
  @Test
  void removingAnUnknownNodeNamesUnknownNode() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        raw.send(Request.newBuilder().setRequestId(1).setMemberChange(MemberChangeRequest.newBuilder()
            .setKind(MemberChangeRequest.Kind.REMOVE).setNodeId(999)).build());
        Error e = raw.read().getError();
        assertThat(e.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
        assertThat(e.getReason()).isEqualTo("UNKNOWN_NODE");
        assertThat(e.getMessage()).startsWith("UNKNOWN_NODE: node 999 is not a member");
        raw.send(Request.newBuilder().setRequestId(2).setMemberChange(MemberChangeRequest.newBuilder()
            .setKind(MemberChangeRequest.Kind.PROMOTE).setNodeId(999)).build());
        assertThat(raw.read().getError().getReason()).isEqualTo("UNKNOWN_NODE");
      }
      try (FlotillaClient c = cluster.client()) {
        assertThatThrownBy(() -> c.changeMembers(MemberChangeRequest.newBuilder()
            .setKind(MemberChangeRequest.Kind.REMOVE).setNodeId(999).build()).join())
            .hasCauseInstanceOf(FlotillaException.class).hasMessageContaining("UNKNOWN_NODE");
      }
    }
  }

  // request_id 0 is what the server uses for errors it cannot attribute (BAD_FRAME): a request
  // numbered 0 is refused, not served with an answer that looks like one of those.
  @Test
  void requestIdZeroIsReserved() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        raw.send(Request.newBuilder().setRequestId(0)
            .setPut(PutRequest.newBuilder().setKey(bs("z")).setValue(bs("1"))).build());
        Response r = raw.read();
        assertThat(r.getError().getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
        assertThat(r.getError().getMessage()).contains("request_id 0 is reserved");
        raw.send(Request.newBuilder().setRequestId(5).setGet(GetRequest.newBuilder().setKey(bs("z"))).build());
        Response get = raw.read();
        assertThat(get.getRequestId()).isEqualTo(5);
        assertThat(get.getGet().getFound()).as("the refused put was not applied").isFalse();
      }
    }
  }

  // A read past its deadline answered UNAVAILABLE, which the doc says to retry as "not applied,
  // no leader": the right code is TIMEOUT.
  @Test
  void aReadPastItsDeadlineAnswersTimeout() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      var stall = cluster.node(1).stallRaftLoopForTesting(3_000);
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        raw.send(Request.newBuilder().setRequestId(1).setTimeoutMs(300)
            .setGet(GetRequest.newBuilder().setKey(bs("k"))).build());
        Response r = raw.read();
        assertThat(r.getError().getCode()).as("%s", r).isEqualTo(Error.Code.TIMEOUT);
        assertThat(r.getError().getMessage()).contains("nothing was changed");
      }
      stall.join();
    }
  }

  // On SIGTERM a put in flight ended with its connection closed and no answer. A graceful stop
  // (what SIGTERM runs) now answers every request it accepted before it closes the connection.
  @Test
  void aGracefulStopAnswersEveryRequestItAccepted() throws Exception {
    int n = 40;
    try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
      cluster.awaitLeader();
      FlotillaNode node = cluster.node(1);
      try (RawClient raw = new RawClient(cluster.clientAddress(1))) {
        var stall = node.stallRaftLoopForTesting(1_500); // the puts below wait in the Raft inbox
        for (int i = 1; i <= n; i++) {
          raw.send(Request.newBuilder().setRequestId(i).setPut(PutRequest.newBuilder()
              .setKey(bs("k" + i)).setValue(bs("v"))).build());
        }
        // Stopping begins while every put is in flight (the loop is stalled).
        var stopped = java.util.concurrent.CompletableFuture.runAsync(() -> {
          try {
            cluster.detach(1).shutdownGracefully(java.time.Duration.ofSeconds(1));
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
        java.util.Set<Long> answered = new java.util.TreeSet<>();
        for (int i = 1; i <= n; i++) {
          Response r = raw.read(); // EOF here: an accepted request was never answered
          answered.add(r.getRequestId());
          assertThat(r.hasError()).as("%s", r).isFalse(); // the stall ends well within the drain
        }
        assertThat(answered).hasSize(n);
        assertThat(raw.closedByServer()).isTrue();
        stopped.join();
        stall.join();
      }
    }
  }
}
