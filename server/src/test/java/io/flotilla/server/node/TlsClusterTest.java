package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.flotilla.certs.CertAuthority;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Error;
import io.flotilla.client.tls.ClientTls;
import io.flotilla.client.tls.TlsConfigException;
import io.flotilla.client.tls.TlsFiles;
import io.flotilla.client.tls.TlsMaterial;
import io.flotilla.raft.Message;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20: a three-node cluster with TLS on every port. What a correct client does works; each
 * refused handshake (plain text, another CA, expired, wrong role, a peer speaking for another
 * node) is refused, counted, and leaves the node serving everyone else. One cluster for the
 * class: each case is one connection, a few milliseconds.
 */
class TlsClusterTest {
  @TempDir
  static Path dir;
  static Path ca;
  static TestCluster cluster;
  static FlotillaClient client;

  @BeforeAll
  static void start() throws Exception {
    ca = dir.resolve("ca");
    CertAuthority authority = CertAuthority.init(ca, "test CA", Duration.ofDays(1));
    for (long id = 1; id <= 4; id++) { // node 4 never runs: its certificate plays the impostor
      authority.issueNode(id, List.of("localhost", "127.0.0.1"), Duration.ofHours(1), ca.resolve("node-" + id));
    }
    authority.issueClient("alice", Duration.ofHours(1), ca.resolve("client-alice"));
    cluster = new TestCluster(dir.resolve("data"), 3,
        c -> c.withTls(TlsFiles.inDir(ca.resolve("node-" + c.id())))).startAll();
    cluster.awaitLeader();
    client = tlsClient(ca.resolve("client-alice"), Duration.ofSeconds(20));
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  static FlotillaClient tlsClient(Path tlsDir, Duration timeout) {
    return new FlotillaClient(ClientOptions.of(cluster.endpoints()).withRequestTimeout(timeout)
        .withTls(ClientTls.fromDir(tlsDir)));
  }

  /** A write and a read through the cluster still work (the node stayed up for everyone else). */
  static void assertServing() {
    String v = "v" + System.nanoTime();
    client.blocking().put("still".getBytes(UTF_8), v.getBytes(UTF_8));
    assertThat(client.blocking().get("still".getBytes(UTF_8))).hasValueSatisfying(b -> assertThat(new String(b, UTF_8)).isEqualTo(v));
  }

  static double metric(long node, String name) {
    return cluster.node(node).metricForTesting(name);
  }

  @Test
  void clientsWithACertificateFromTheClusterCaReadAndWrite() throws Exception {
    client.blocking().put("k".getBytes(UTF_8), "v".getBytes(UTF_8));
    assertThat(client.blocking().get("k".getBytes(UTF_8))).hasValueSatisfying(b -> assertThat(b).isEqualTo("v".getBytes(UTF_8)));
    assertThat(metric(1, "flotilla_tls_cert_expiry_seconds")).isBetween(3000.0, 3600.0);
    @SuppressWarnings("unchecked")
    Map<String, Object> status = (Map<String, Object>) ((Map<Object, Object>) cluster.node(1).adminStatusForTesting()).get("tls");
    assertThat(status).containsEntry("enabled", true).containsEntry("identity", "node 1");
  }

  @Test
  void aPlainTextClientOnTheTlsPortIsRefused() {
    double before = metric(1, "flotilla_tls_handshake_failures_total{port=\"client\"}");
    try (FlotillaClient plain = new FlotillaClient(ClientOptions.of("127.0.0.1:" + cluster.clientAddress(1).getPort())
        .withRequestTimeout(Duration.ofSeconds(5)))) {
      assertThatThrownBy(() -> plain.blocking().get("k".getBytes(UTF_8)))
          .isInstanceOfSatisfying(FlotillaException.class, e -> assertThat(e.code()).isEqualTo(Error.Code.TLS_REFUSED))
          .hasMessageContaining("requires TLS on its client port");
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> metric(1, "flotilla_tls_handshake_failures_total{port=\"client\"}") > before);
    assertServing();
  }

  @Test
  void aClientCertificateFromAnotherCaIsRefused() throws Exception {
    Path other = dir.resolve("other-ca");
    CertAuthority.init(other, "another CA", Duration.ofDays(1)).issueClient("mallory", Duration.ofHours(1), other.resolve("c"));
    // The client trusts the cluster's CA (so the refusal is the server's), but holds another CA's certificate.
    java.nio.file.Files.copy(ca.resolve("ca.pem"), other.resolve("c/ca.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertRefused(other.resolve("c"), "refused this client's certificate");
  }

  @Test
  void anExpiredClientCertificateIsRefused() throws Exception {
    Instant now = Instant.now();
    CertAuthority.load(ca).issueClient("late", now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1)), dir.resolve("expired"));
    assertRefused(dir.resolve("expired"), "refused this client's certificate");
  }

  @Test
  void aServerWithAClientCertificateIsRefusedByTheClient() throws Exception {
    // "Vice versa": something listening with a client's certificate is no node; the client refuses it.
    try (var impostor = RawTls.serve(new TlsMaterial(TlsFiles.inDir(ca.resolve("client-alice"))));
        FlotillaClient c = new FlotillaClient(ClientOptions.of("127.0.0.1:" + impostor.port())
            .withRequestTimeout(Duration.ofSeconds(5)).withTls(ClientTls.fromDir(ca.resolve("client-alice"))))) {
      assertThatThrownBy(() -> c.blocking().get("k".getBytes(UTF_8)))
          .isInstanceOfSatisfying(FlotillaException.class, e -> assertThat(e.code()).isEqualTo(Error.Code.TLS_REFUSED))
          .hasMessageContaining("the server's certificate is not a node's");
    }
  }

  @Test
  void aClientCertificateOnThePeerPortIsRefused() throws Exception {
    double before = metric(2, "flotilla_tls_handshake_failures_total{port=\"peer\"}");
    ClientTls alice = ClientTls.forPeers(new TlsMaterial(TlsFiles.inDir(ca.resolve("client-alice"))));
    String outcome = RawTls.handshake(cluster.node(2).peerAddress(), alice);
    assertThat(outcome).isNotEqualTo("ok");
    await().atMost(Duration.ofSeconds(10)).until(() -> metric(2, "flotilla_tls_handshake_failures_total{port=\"peer\"}") > before);
    assertServing();
  }

  @Test
  void aPeerClaimingAnotherNodesIdIsRefused() throws Exception {
    double before = metric(1, "flotilla_peer_identity_refused_total");
    ClientTls node4 = ClientTls.forPeers(new TlsMaterial(TlsFiles.inDir(ca.resolve("node-4"))));
    // Node 4's valid certificate, but a frame claiming to come from node 2.
    byte[] frame = PeerFrames.message(1, new Message.HeartbeatResponse(1, 2, 1, 0, 0));
    boolean closed = RawTls.sendAndAwaitClose(cluster.node(1).peerAddress(), node4, frame);
    assertThat(closed).as("node 1 closes the connection").isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> metric(1, "flotilla_peer_identity_refused_total") > before);
    assertServing();
  }

  @Test
  void aNodeRefusesToStartWithAnotherNodesCertificate() {
    assertThatThrownBy(() -> new io.flotilla.server.tls.NodeTls(1, TlsFiles.inDir(ca.resolve("node-2"))))
        .isInstanceOf(TlsConfigException.class).hasMessageContaining("not of node 1");
  }

  @Test
  void certificatesRotatedUnderLoadServeNewConnectionsAndNoRequestFails() throws Exception {
    ClientTls alice = ClientTls.fromDir(ca.resolve("client-alice"));
    Map<Long, java.math.BigInteger> before = new java.util.HashMap<>();
    for (long id = 1; id <= 3; id++) {
      before.put(id, RawTls.serverSerial(cluster.node(id).clientAddress(), alice));
    }
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicLong puts = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    // Load on a long-lived connection and on fresh ones (a new client, so new handshakes, every 20 puts).
    Thread load = new Thread(() -> {
      while (!stop.get() && failure.get() == null) {
        try (FlotillaClient fresh = tlsClient(ca.resolve("client-alice"), Duration.ofSeconds(20))) {
          for (int i = 0; i < 20 && !stop.get(); i++) {
            fresh.blocking().put(("rot" + i).getBytes(UTF_8), "x".getBytes(UTF_8));
            client.blocking().put(("rot-long" + i).getBytes(UTF_8), "x".getBytes(UTF_8));
            puts.incrementAndGet();
          }
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
      }
    }, "rotation-load");
    load.start();
    try {
      await().atMost(Duration.ofSeconds(20)).until(() -> puts.get() >= 20 || failure.get() != null);
      CertAuthority authority = CertAuthority.load(ca);
      Map<Long, java.math.BigInteger> after = new java.util.HashMap<>();
      for (long id = 1; id <= 3; id++) {
        after.put(id, authority.issueNode(id, List.of("localhost", "127.0.0.1"), Duration.ofHours(2),
            ca.resolve("node-" + id)).getSerialNumber());
      }
      authority.issueClient("alice", Duration.ofHours(2), ca.resolve("client-alice"));
      for (long id = 1; id <= 3; id++) {
        long node = id;
        assertThat(after.get(node)).isNotEqualTo(before.get(node));
        await().atMost(Duration.ofSeconds(10)).until(() ->
            after.get(node).equals(RawTls.serverSerial(cluster.node(node).clientAddress(), alice)));
      }
      long rotatedAt = puts.get();
      await().atMost(Duration.ofSeconds(20)).until(() -> puts.get() >= rotatedAt + 40 || failure.get() != null);
    } finally {
      stop.set(true);
      load.join(30_000);
    }
    assertThat(failure.get()).as("a request failed during the rotation").isNull();
    assertThat(metric(3, "flotilla_tls_cert_expiry_seconds")).isGreaterThan(3600.0);
    assertThat(metric(3, "flotilla_tls_reloads_total")).isGreaterThanOrEqualTo(1.0);
    assertServing();
  }

  private static void assertRefused(Path tlsDir, String message) {
    double before = metric(1, "flotilla_tls_handshake_failures_total{port=\"client\"}");
    try (FlotillaClient bad = new FlotillaClient(ClientOptions.of("127.0.0.1:" + cluster.clientAddress(1).getPort())
        .withRequestTimeout(Duration.ofSeconds(5)).withTls(ClientTls.fromDir(tlsDir)))) {
      assertThatThrownBy(() -> bad.blocking().get("k".getBytes(UTF_8)))
          .isInstanceOfSatisfying(FlotillaException.class, e -> {
            assertThat(e.code()).isEqualTo(Error.Code.TLS_REFUSED);
            assertThat(e.outcomeUnknown()).isFalse();
          })
          .hasMessageContaining(message);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> metric(1, "flotilla_tls_handshake_failures_total{port=\"client\"}") > before);
    assertServing();
  }
}
