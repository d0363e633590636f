package io.flotilla.server.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetResult;
import io.flotilla.client.proto.Member;
import io.flotilla.client.proto.MemberListResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.server.net.ClientPort;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A silent endpoint (issue 14, item 7): a SIGSTOPped node, or a dead container's published port,
 * still accepts connections and never answers. It must not hold every request for a whole
 * attempt timeout, and read-only admin requests must give up on it after one.
 */
class SilentEndpointTest {
  private final EventLoopGroup group = new NioEventLoopGroup(2);
  private final List<ClientPort> ports = new ArrayList<>();
  /** Requests each port received. */
  private final List<AtomicInteger> received = new ArrayList<>();

  @AfterEach
  void stop() {
    ports.forEach(ClientPort::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** A node that answers gets, status and member list (it leads); or, silent, nothing at all. */
  private Endpoint node(boolean silent) throws Exception {
    AtomicInteger count = new AtomicInteger();
    received.add(count);
    ClientPort p = ClientPort.start(new InetSocketAddress("127.0.0.1", 0), group, group, r -> {
      count.incrementAndGet();
      return silent ? new CompletableFuture<>() : CompletableFuture.completedFuture(answer(r));
    }, ClientPort.Limits.DEFAULT);
    ports.add(p);
    return new Endpoint("127.0.0.1", p.localAddress().getPort());
  }

  private static Response answer(Request r) {
    if (r.hasMemberList()) {
      return Response.newBuilder().setMemberList(MemberListResult.newBuilder().setLeaderId(2)
          .addMembers(Member.newBuilder().setId(2).setRole("voter").setLeader(true))).build();
    }
    if (r.hasStatus()) {
      return Response.newBuilder().setStatus(StatusResult.newBuilder().setNodeId(2)).build();
    }
    return Response.newBuilder().setGet(GetResult.newBuilder().setFound(true)
        .setValue(ByteString.copyFromUtf8("v"))).build();
  }

  private FlotillaClient client(List<Endpoint> endpoints, Duration attempt, Duration deadline) {
    return new FlotillaClient(ClientOptions.of(endpoints).withAttemptTimeout(attempt)
        .withRequestTimeout(deadline));
  }

  @Test
  void anEndpointThatLetAnAttemptTimeOutIsAvoidedByTheNextCalls() throws Exception {
    Endpoint silent = node(true);
    List<Endpoint> all = List.of(silent, node(false), node(false));
    try (FlotillaClient c = client(all, Duration.ofSeconds(2), Duration.ofSeconds(60))) {
      byte[] key = "k".getBytes(StandardCharsets.UTF_8);
      // Spread reads until one has landed on the silent node and been retried elsewhere.
      while (received.get(0).get() == 0) {
        assertThat(c.blocking().get(key, Consistency.FOLLOWER)).isPresent();
      }
      // For a while after, the spread skips it: twenty reads, none waits on the silent node.
      for (int i = 0; i < 20; i++) {
        assertThat(c.blocking().get(key, Consistency.FOLLOWER)).isPresent();
      }
      assertThat(received.get(0).get()).as("requests sent to the silent node").isEqualTo(1);
    }
  }

  @Test
  void memberListGivesUpOnASilentNodeAfterOneAttempt() throws Exception {
    List<Endpoint> all = List.of(node(true), node(false));
    try (FlotillaClient c = client(all, Duration.ofMillis(300), Duration.ofSeconds(20))) {
      MemberListResult members = c.blocking().members();
      assertThat(members.getLeaderId()).isEqualTo(2);
      assertThat(received.get(0).get()).isEqualTo(1);
    }
  }

  @Test
  void statusOfASilentNodeFailsAfterOneAttemptNotAtTheDeadline() throws Exception {
    Endpoint silent = node(true);
    try (FlotillaClient c = client(List.of(silent), Duration.ofMillis(300), Duration.ofSeconds(20))) {
      assertThatThrownBy(() -> c.blocking().status(silent))
          .isInstanceOfSatisfying(FlotillaException.class,
              e -> assertThat(e.code()).isEqualTo(Error.Code.TIMEOUT));
      assertThat(received.get(0).get()).as("attempts at the silent node").isEqualTo(1);
    }
  }
}
