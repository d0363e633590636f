package io.flotilla.client.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts certificates issued by the cluster CA, and of those only the roles this end accepts:
 * the peer port takes nodes only, the client port clients and nodes (a node forwards requests and
 * joins through client ports), and a client takes only a node for a server. The role check runs
 * inside the handshake, so a wrong certificate fails it with an alert and a message naming both
 * what was presented and what was expected, before a byte of the protocol is read.
 *
 * <p>Path validation (signature, validity dates, basic constraints) and, where the context asks
 * for it, host name checking are the JDK's own trust manager's: this class only adds the role.
 */
public final class RoleTrustManager extends X509ExtendedTrustManager {
  /** Which identities an end of a connection accepts from the other. */
  public enum Accept {
    NODES("a node certificate"),
    NODES_AND_CLIENTS("a client or node certificate");

    private final String what;

    Accept(String what) {
      this.what = what;
    }

    boolean admits(TlsIdentity id) {
      return this == NODES_AND_CLIENTS || id instanceof TlsIdentity.Node;
    }
  }

  private final X509ExtendedTrustManager ca;
  private final Accept accept;

  public RoleTrustManager(List<X509Certificate> trusted, Accept accept) {
    this.ca = caTrustManager(trusted);
    this.accept = accept;
  }

  private static X509ExtendedTrustManager caTrustManager(List<X509Certificate> trusted) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < trusted.size(); i++) {
        store.setCertificateEntry("ca-" + i, trusted.get(i));
      }
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(store);
      for (var tm : f.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          return x;
        }
      }
      throw new TlsConfigException("the JDK offers no X509ExtendedTrustManager");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new TlsConfigException("cannot build a trust store from the CA certificates: " + e, e);
    }
  }

  private void checkRole(X509Certificate[] chain, String side) throws CertificateException {
    var id = TlsIdentity.of(chain[0]);
    if (id.isEmpty()) {
      throw new CertificateException(side + " certificate " + chain[0].getSubjectX500Principal()
          + " names no Flotilla node or client; " + accept.what + " is required");
    }
    if (!accept.admits(id.get())) {
      throw new CertificateException(side + " presented the certificate of " + id.get() + " where "
          + accept.what + " is required");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    ca.checkClientTrusted(chain, authType, engine);
    checkRole(chain, "the client");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    ca.checkServerTrusted(chain, authType, engine);
    checkRole(chain, "the server");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    ca.checkClientTrusted(chain, authType, socket);
    checkRole(chain, "the client");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    ca.checkServerTrusted(chain, authType, socket);
    checkRole(chain, "the server");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    ca.checkClientTrusted(chain, authType);
    checkRole(chain, "the client");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    ca.checkServerTrusted(chain, authType);
    checkRole(chain, "the server");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return ca.getAcceptedIssuers();
  }
}
