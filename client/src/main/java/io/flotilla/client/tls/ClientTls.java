package io.flotilla.client.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * The dialling side of TLS: this end's certificate (clients authenticate with it; every port
 * requires one), the cluster CA, and what the other end must be ({@link RoleTrustManager}).
 * Contexts follow the material: a rotated certificate is used from the next connection on.
 *
 * <p>For the client port, the server's host name must be one of the node certificate's names (the
 * {@code --host} values given to {@code bin/flotilla certs node}), as for any TLS client. The peer
 * port checks something stronger instead, the node id in the certificate, and so skips it
 * ({@link #forPeers}).
 */
public final class ClientTls {
  /**
   * TLS 1.2 only, on purpose: in TLS 1.3 a client's handshake completes before the server has
   * checked the client's certificate, so a refused client would learn of it only from an alert
   * after it sent its first request, and could not tell "refused, nothing sent" from "connection
   * lost, the write may have applied". In 1.2 the refusal ends the handshake itself, and the
   * client reports TLS_REFUSED with nothing sent (docs/security.md).
   */
  public static final String[] PROTOCOLS = {"TLSv1.2"};
  /** Forward-secret AEAD suites only: ECDSA for certificates from bin/flotilla certs, RSA for a CA of one's own. */
  public static final java.util.List<String> CIPHERS = java.util.List.of(
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  private final TlsMaterial material;
  private final RoleTrustManager.Accept accept;
  private final boolean verifyHost;
  private SslContext context; // guarded by this
  private long contextVersion; // guarded by this

  private ClientTls(TlsMaterial material, RoleTrustManager.Accept accept, boolean verifyHost) {
    this.material = Objects.requireNonNull(material, "material");
    this.accept = accept;
    this.verifyHost = verifyHost;
  }

  /** A client of the client port: the server must be a node, named for the host dialled. */
  public static ClientTls forClientPort(TlsMaterial material) {
    return new ClientTls(material, RoleTrustManager.Accept.NODES, true);
  }

  /** The TLS directory {@code dir} ({@link TlsFiles#inDir}), for the client port. */
  public static ClientTls fromDir(Path dir) {
    return forClientPort(new TlsMaterial(TlsFiles.inDir(dir)));
  }

  /** A node dialling a peer: the peer must be a node; its id is checked after the handshake. */
  public static ClientTls forPeers(TlsMaterial material) {
    return new ClientTls(material, RoleTrustManager.Accept.NODES, false);
  }

  public TlsMaterial material() {
    return material;
  }

  /** The context for a new connection: rebuilt when the material was reloaded. */
  public synchronized SslContext context() {
    TlsMaterial.Loaded m = material.current();
    if (context == null || contextVersion != m.version()) {
      context = build(m);
      contextVersion = m.version();
    }
    return context;
  }

  /** A handler for a new connection to {@code host:port} (the name is checked against the certificate). */
  public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
    return context().newHandler(alloc, host, port);
  }

  private SslContext build(TlsMaterial.Loaded m) {
    try {
      SslContextBuilder b = SslContextBuilder.forClient()
          .sslProvider(SslProvider.JDK)
          .keyManager(m.key(), m.chain())
          .trustManager(new RoleTrustManager(m.trusted(), accept))
          .protocols(PROTOCOLS)
          .ciphers(CIPHERS);
      if (verifyHost) {
        b.endpointIdentificationAlgorithm("HTTPS");
      }
      return b.build();
    } catch (SSLException e) {
      throw new TlsConfigException("cannot build a TLS client context from " + material.files() + ": " + e, e);
    }
  }
}
