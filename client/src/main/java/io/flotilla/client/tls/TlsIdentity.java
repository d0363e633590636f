package io.flotilla.client.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who a certificate says its holder is: a node (by id) or a client (by name). The authoritative
 * form is a URI subject alternative name, {@code flotilla://node/N} or
 * {@code flotilla://client/NAME}, which {@code bin/flotilla certs} writes; for certificates from a
 * CA that cannot write URI names, the subject's CN is the fallback: {@code node-N} is node N, any
 * other CN is the client of that name (docs/security.md, "Bringing your own CA").
 */
public sealed interface TlsIdentity {
  String NODE_URI_PREFIX = "flotilla://node/";
  String CLIENT_URI_PREFIX = "flotilla://client/";
  /** Client names: what a shell, a log line and a future permission rule can all carry safely. */
  Pattern CLIENT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  Pattern NODE_CN = Pattern.compile("node-([1-9][0-9]{0,18})");

  /** A node's certificate: it may serve any port and dial peers. */
  record Node(long id) implements TlsIdentity {
    public Node {
      if (id <= 0) {
        throw new IllegalArgumentException("node id must be positive, got " + id);
      }
    }

    @Override
    public String toString() {
      return "node " + id;
    }
  }

  /** A client's certificate: it may talk to client ports only. */
  record Client(String name) implements TlsIdentity {
    public Client {
      if (!CLIENT_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("client name '" + name + "' must match " + CLIENT_NAME.pattern());
      }
    }

    @Override
    public String toString() {
      return "client " + name;
    }
  }

  static String nodeUri(long id) {
    return NODE_URI_PREFIX + new Node(id).id();
  }

  static String clientUri(String name) {
    return CLIENT_URI_PREFIX + new Client(name).name();
  }

  /** The identity {@code cert} names, or empty when it names none (then it is refused). */
  static Optional<TlsIdentity> of(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() >= 2 && Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri) {
            Optional<TlsIdentity> parsed = fromUri(uri);
            if (parsed.isPresent()) {
              return parsed;
            }
          }
        }
      }
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
    return fromCommonName(cert);
  }

  private static Optional<TlsIdentity> fromUri(String uri) {
    try {
      if (uri.startsWith(NODE_URI_PREFIX)) {
        return Optional.of(new Node(Long.parseLong(uri.substring(NODE_URI_PREFIX.length()))));
      }
      if (uri.startsWith(CLIENT_URI_PREFIX)) {
        return Optional.of(new Client(uri.substring(CLIENT_URI_PREFIX.length())));
      }
    } catch (IllegalArgumentException e) { // a malformed id or name: names nobody
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static Optional<TlsIdentity> fromCommonName(X509Certificate cert) {
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if ("CN".equalsIgnoreCase(rdn.getType())) {
          String cn = rdn.getValue().toString();
          var node = NODE_CN.matcher(cn);
          if (node.matches()) {
            return Optional.of(new Node(Long.parseLong(node.group(1))));
          }
          return CLIENT_NAME.matcher(cn).matches() ? Optional.of(new Client(cn)) : Optional.empty();
        }
      }
    } catch (InvalidNameException | IllegalArgumentException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
