package io.flotilla.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import io.flotilla.server.local.LocalCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local clusters of separate processes, started the ways a user starts them. */
class LocalClusterTest {
  @TempDir Path dir;

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  /** The cluster's endpoints with node {@code first} first, the others after it in order. */
  private static String endpointsFrom(LocalCluster cluster, int first) {
    List<String> out = new ArrayList<>();
    for (int k = 0; k < cluster.nodes(); k++) {
      out.add(cluster.client((first - 1 + k) % cluster.nodes() + 1).toString());
    }
    return String.join(",", out);
  }

  // Regression (issue 14, item 3): with --members ID=PEER (no client address), a follower
  // answered writes and LINEARIZABLE reads with INTERNAL (a NullPointerException building the
  // leader hint), and the CLI gave up instead of trying its other endpoints.
  @Test
  void withoutClientAddressesInMembersEveryNodeTakesRequests() throws Exception {
    try (LocalCluster cluster = new LocalCluster(3, DemoTest.freeBase(), dir)
        .withoutClientAddressesInMembers()) {
      cluster.startAll();
      for (int n = 1; n <= 3; n++) {
        int first = n;
        String eps = endpointsFrom(cluster, first);
        try (FlotillaClient c = new FlotillaClient(ClientOptions.of(eps)
            .withRequestTimeout(Duration.ofSeconds(30)))) {
          c.blocking().put(b("k" + first), b("v" + first));
          assertThat(c.blocking().get(b("k" + first), Consistency.LINEARIZABLE))
              .hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v" + first)));
        }
        StringWriter err = new StringWriter();
        int code = FlotillaMain.commandLine().setErr(new PrintWriter(err))
            .execute("put", "--endpoints", eps, "cli" + first, "ok");
        assertThat(code).as("put through %s: %s", eps, err).isZero();
        // A FOLLOWER read served by exactly this node, which has no leader hint to give.
        try (FlotillaClient only = new FlotillaClient(ClientOptions.of(cluster.client(first).toString())
            .withRequestTimeout(Duration.ofSeconds(30)))) {
          assertThat(only.blocking().get(b("k" + first), Consistency.FOLLOWER))
              .hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v" + first)));
        }
      }
    }
  }

  // Regression (issue 14, item 8): `local` printed its endpoints and kept running after node 1
  // failed to bind its port.
  @Test
  void localFailsAtOnceWithTheErrorOfANodeThatCannotStart() throws Exception {
    int base = DemoTest.freeBase();
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", base)); // node 1's client port
      StringWriter err = new StringWriter();
      StringWriter out = new StringWriter();
      int code = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> FlotillaMain.commandLine()
          .setErr(new PrintWriter(err)).setOut(new PrintWriter(out))
          .execute("local", "--base-port", "" + base, "--data-dir", dir.toString()));
      assertThat(code).isEqualTo(1);
      assertThat(err.toString()).contains("node 1 failed to start").contains("Address already in use");
      assertThat(out.toString()).doesNotContain("endpoints:");
    }
    // The nodes that did start were stopped with it: their ports are free again.
    for (int node = 2; node <= 3; node++) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", base + 10 * (node - 1)));
      }
    }
  }
}
