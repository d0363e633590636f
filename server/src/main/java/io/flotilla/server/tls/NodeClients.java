package io.flotilla.server.tls;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.tls.ClientTls;
import io.flotilla.client.tls.TlsFiles;
import io.flotilla.client.tls.TlsMaterial;

/**
 * The options of a client a node makes for itself (joining, forwarding, removal checks): over
 * TLS with the node's own certificate when the node runs TLS, since every client port then
 * requires one. Material is loaded when the client is made, so a client made after a rotation
 * presents the new certificate.
 */
public final class NodeClients {
  private NodeClients() {}

  /** {@code options} over TLS with {@code files} (the node's), or as they are when null. */
  public static ClientOptions secure(ClientOptions options, TlsFiles files) {
    return files == null ? options : options.withTls(ClientTls.forClientPort(new TlsMaterial(files)));
  }
}
