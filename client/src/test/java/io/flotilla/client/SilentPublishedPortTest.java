package io.flotilla.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Member;
import io.flotilla.client.proto.MemberListResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.StatusResult;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The published port of a dead or paused container (issue 19): Docker's proxy, or the frozen
 * container's kernel, completes the TCP handshake and then nothing is ever read or answered. A
 * read-only request must leave such an endpoint after one attempt timeout, get its answer from
 * another endpoint well before its deadline, and never report that a write may have been applied.
 * The silent endpoint here is a listening socket nobody accepts on (the kernel still completes
 * connections into its backlog); the other is a minimal node speaking the client protocol. Rerun:
 * {@code ./mvnw -q -B -pl client -am test -Dtest=SilentPublishedPortTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class SilentPublishedPortTest {
  private final List<AutoCloseable> open = new ArrayList<>();
  /** Requests the answering node received. */
  private final AtomicInteger answered = new AtomicInteger();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  /** Accepts TCP connections (in the kernel's backlog) and never reads or answers. */
  private Endpoint silentPort() throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    open.add(s);
    return new Endpoint("127.0.0.1", s.getLocalPort());
  }

  /** Node {@code id}, the leader: answers member_list and status, one thread per connection. */
  private Endpoint answeringNode(long id) throws IOException {
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    open.add(s);
    Thread acceptor = new Thread(() -> {
      while (!s.isClosed()) {
        try {
          Socket c = s.accept();
          open.add(c);
          Thread t = new Thread(() -> serve(c, id), "answering-node-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return; // closed at the end of the test
        }
      }
    }, "answering-node");
    acceptor.setDaemon(true);
    acceptor.start();
    return new Endpoint("127.0.0.1", s.getLocalPort());
  }

  private void serve(Socket c, long id) {
    try (DataInputStream in = new DataInputStream(c.getInputStream());
        DataOutputStream out = new DataOutputStream(c.getOutputStream())) {
      while (true) {
        byte[] frame = new byte[in.readInt()];
        in.readFully(frame);
        Request r = Request.parseFrom(frame);
        answered.incrementAndGet();
        Response.Builder resp = Response.newBuilder().setRequestId(r.getRequestId());
        if (r.hasMemberList()) {
          resp.setMemberList(MemberListResult.newBuilder().setLeaderId(id)
              .addMembers(Member.newBuilder().setId(id).setRole("voter").setLeader(true)));
        } else {
          resp.setStatus(StatusResult.newBuilder().setNodeId(id));
        }
        byte[] bytes = resp.build().toByteArray();
        out.writeInt(bytes.length);
        out.write(bytes);
        out.flush();
      }
    } catch (IOException e) {
      // the client closed its connection
    }
  }

  private FlotillaClient client(List<Endpoint> endpoints) {
    // A deadline far above the attempt timeout: a call that waited on the silent endpoint for
    // its whole deadline would fail instead of answering.
    FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints)
        .withAttemptTimeout(Duration.ofMillis(300)).withRequestTimeout(Duration.ofSeconds(30)));
    open.add(c);
    return c;
  }

  @Test
  void memberListMovesFromTheSilentPortToTheNextEndpointAndAnswers() throws Exception {
    Endpoint silent = silentPort();
    Endpoint node2 = answeringNode(2);
    FlotillaClient c = client(List.of(silent, node2));
    MemberListResult members = c.blocking().members();
    assertThat(members.getLeaderId()).as("the answer came from node 2").isEqualTo(2);
    assertThat(answered.get()).as("requests node 2 received").isEqualTo(1);
  }

  @Test
  void aReadOnlyRequestThatNothingAnswersNeverSaysAWriteMayHaveBeenApplied() throws Exception {
    Endpoint silent = silentPort();
    FlotillaClient c = new FlotillaClient(ClientOptions.of(List.of(silent, silentPort()))
        .withAttemptTimeout(Duration.ofMillis(200)).withRequestTimeout(Duration.ofSeconds(2)));
    open.add(c);
    assertThatThrownBy(() -> c.blocking().members())
        .isInstanceOfSatisfying(FlotillaException.class, e -> {
          assertThat(e.code()).isEqualTo(Error.Code.TIMEOUT);
          assertThat(e.outcomeUnknown()).as("outcome unknown").isFalse();
          assertThat(e.getMessage()).doesNotContain("write");
        });
  }
}
