package io.flotilla.server.tls;

import io.flotilla.client.tls.ClientTls;
import io.flotilla.client.tls.RoleTrustManager;
import io.flotilla.client.tls.TlsConfigException;
import io.flotilla.client.tls.TlsFiles;
import io.flotilla.client.tls.TlsIdentity;
import io.flotilla.client.tls.TlsMaterial;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLException;

/**
 * A node's TLS: its certificate (which must name this node's id), the cluster CA, and the
 * contexts of its three ports and of its own outgoing connections, all rebuilt from the files
 * when they change ({@link TlsMaterial}: rotation without a restart; connections already open
 * keep the session they have).
 *
 * <ul>
 *   <li>client port: a client or node certificate from the CA is required (nodes forward requests
 *       and join through client ports);
 *   <li>peer port: a node certificate from the CA is required, and its id must be the sender of
 *       every frame on the connection (checked by the peer port, {@code net.PeerTransport});
 *   <li>admin port: HTTPS; no client certificate asked (it serves status and metrics, read
 *       only; docs/security.md says what that leaves open);
 *   <li>outgoing: to peers with this node's certificate, the peer's id checked after the
 *       handshake; to client ports (forwarding, joining) as a client of them.
 * </ul>
 */
public final class NodeTls implements AutoCloseable {
  /**
   * How often the reload thread looks at the files. The contexts are asked for on event loops,
   * which must not touch the disk: the looking happens here instead.
   */
  static final long CHECK_MILLIS = 1000;
  private final java.util.concurrent.ScheduledExecutorService reloader;
  private final long nodeId;
  private final TlsMaterial material;
  private final ClientTls peerClient;
  private final ClientTls clientPortClient;
  private final Contexts clientPort = new Contexts(RoleTrustManager.Accept.NODES_AND_CLIENTS);
  private final Contexts peerPort = new Contexts(RoleTrustManager.Accept.NODES);
  private final Contexts adminPort = new Contexts(null);

  /** Loads the files now and checks that the certificate is node {@code nodeId}'s. */
  public NodeTls(long nodeId, TlsFiles files) {
    this.nodeId = nodeId;
    this.material = TlsMaterial.checkedByCaller(files, loaded -> {
      TlsIdentity id = loaded.identity();
      if (!(id instanceof TlsIdentity.Node node) || node.id() != nodeId) {
        throw new TlsConfigException(files.cert() + " is the certificate of " + id + ", not of node " + nodeId
            + ": issue one with `bin/flotilla certs node --id " + nodeId + " --host ...`");
      }
    });
    this.peerClient = ClientTls.forPeers(material);
    this.clientPortClient = ClientTls.forClientPort(material);
    this.reloader = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "flotilla-tls-reload-" + nodeId);
      t.setDaemon(true);
      return t;
    });
    reloader.scheduleWithFixedDelay(this::reloadQuietly, CHECK_MILLIS, CHECK_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void reloadQuietly() {
    try {
      material.reloadIfChanged(); // a failure keeps the old material and is logged there
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(NodeTls.class).warn("TLS reload check failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    reloader.shutdownNow();
  }

  public long nodeId() {
    return nodeId;
  }

  public TlsMaterial material() {
    return material;
  }

  public SslContext clientPortContext() {
    return clientPort.get();
  }

  public SslContext peerPortContext() {
    return peerPort.get();
  }

  public SslContext adminPortContext() {
    return adminPort.get();
  }

  /** This node dialling its peers' peer ports. */
  public ClientTls peerClient() {
    return peerClient;
  }

  /** This node as a client of other nodes' client ports (forwarding, joining, removal checks). */
  public ClientTls clientPortClient() {
    return clientPortClient;
  }

  /**
   * A JDK context for this node's HTTPS requests to other members' admin ports (the dashboard's
   * cluster view): the cluster CA trusted, host names checked by the JDK's HTTP client.
   */
  public javax.net.ssl.SSLContext adminHttpContext() {
    SslContext c = clientPortClient.context();
    if (c instanceof io.netty.handler.ssl.JdkSslContext jdk) {
      return jdk.context();
    }
    throw new IllegalStateException("TLS contexts are built with the JDK provider");
  }

  /** Seconds until this node's certificate expires (negative once it has). */
  public long expirySeconds() {
    return Duration.between(Instant.now(), material.current().notAfter()).getSeconds();
  }

  /** What {@code /status} shows under "tls". */
  public Map<String, Object> status() {
    TlsMaterial.Loaded m = material.current();
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("enabled", true);
    s.put("identity", m.identity().toString());
    s.put("subject", m.cert().getSubjectX500Principal().getName());
    s.put("issuer", m.cert().getIssuerX500Principal().getName());
    s.put("serial", m.cert().getSerialNumber().toString(16));
    s.put("notAfter", m.notAfter().toString());
    s.put("expiresInSeconds", expirySeconds());
    s.put("reloads", material.reloads());
    s.put("reloadFailures", material.reloadFailures());
    return s;
  }

  /** The meters of docs/metrics.md, "TLS". */
  public void bindMetrics(MeterRegistry registry) {
    Gauge.builder("flotilla.tls.cert.expiry.seconds", this, NodeTls::expirySeconds)
        .description("seconds until this node's certificate expires (negative: expired)").register(registry);
    FunctionCounter.builder("flotilla.tls.reloads", material, TlsMaterial::reloads)
        .description("certificate reloads from disk").register(registry);
    FunctionCounter.builder("flotilla.tls.reload.failures", material, TlsMaterial::reloadFailures)
        .description("checks that found changed TLS files that could not be loaded (the previous certificate stays)")
        .register(registry);
  }

  /** The contexts of one port, rebuilt when the material was reloaded. */
  private final class Contexts {
    /** Which client certificates the port requires; null: none asked (admin). */
    private final RoleTrustManager.Accept accept;
    private SslContext context; // guarded by this
    private long version; // guarded by this

    Contexts(RoleTrustManager.Accept accept) {
      this.accept = accept;
    }

    synchronized SslContext get() {
      TlsMaterial.Loaded m = material.current();
      if (context == null || version != m.version()) {
        context = build(m);
        version = m.version();
      }
      return context;
    }

    private SslContext build(TlsMaterial.Loaded m) {
      try {
        SslContextBuilder b = SslContextBuilder.forServer(m.key(), m.chain())
            .sslProvider(SslProvider.JDK)
            .protocols(ClientTls.PROTOCOLS)
            .ciphers(ClientTls.CIPHERS);
        if (accept != null) {
          b.trustManager(new RoleTrustManager(m.trusted(), accept)).clientAuth(ClientAuth.REQUIRE);
        }
        return b.build();
      } catch (SSLException e) {
        throw new TlsConfigException("cannot build a TLS server context from " + material.files() + ": " + e, e);
      }
    }
  }
}
