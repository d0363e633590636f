package io.flotilla.server.net;

import io.flotilla.client.tls.TlsIdentity;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;

/** The node a peer connection's TLS session certifies (its trust manager admitted nodes only). */
final class PeerCertificates {
  private PeerCertificates() {}

  /**
   * The node id the other end's certificate names; 0 on a plain-text connection (nothing is
   * certified); -2 when a TLS session names no node (cannot happen past the port's trust manager,
   * and matches no sender). {@link #describe} says why, for the log.
   */
  static long certifiedNode(Channel ch) {
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    if (ssl == null) {
      return 0;
    }
    try {
      var certs = ssl.engine().getSession().getPeerCertificates();
      if (certs.length > 0 && certs[0] instanceof X509Certificate x
          && TlsIdentity.of(x).orElse(null) instanceof TlsIdentity.Node node) {
        return node.id();
      }
    } catch (SSLPeerUnverifiedException e) {
      return -2;
    }
    return -2;
  }

  /** What the other end's certificate says, in words: "node 3", "client alice", or why none could be read. */
  static String describe(Channel ch) {
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    if (ssl == null) {
      return "none (plain text)";
    }
    try {
      var certs = ssl.engine().getSession().getPeerCertificates();
      if (certs.length > 0 && certs[0] instanceof X509Certificate x) {
        return TlsIdentity.of(x).map(Object::toString).orElse(x.getSubjectX500Principal().getName());
      }
      return "none";
    } catch (SSLPeerUnverifiedException e) {
      return "unreadable (" + e.getMessage() + "; session " + ssl.engine().getSession().getCipherSuite()
          + ", handshake " + ssl.engine().getHandshakeStatus() + ")";
    }
  }
}
