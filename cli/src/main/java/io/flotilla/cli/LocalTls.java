package io.flotilla.cli;

import io.flotilla.certs.CertAuthority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Certificates for a local cluster ({@code local --tls}, {@code bench --local N --tls}): a CA in
 * {@code DIR/ca}, node i's directory {@code DIR/node-i} (hosts 127.0.0.1 and localhost), and a
 * client's, {@code DIR/client}. Made once; a later run over the same data directory reuses them,
 * so clients configured with the client directory keep working across restarts.
 */
final class LocalTls {
  static final String CLIENT = "client";

  private LocalTls() {}

  /** Makes what is missing in {@code dir}; returns the client's TLS directory. */
  static Path ensure(Path dir, int nodes) throws IOException {
    Path caDir = dir.resolve("ca");
    CertAuthority ca = Files.exists(caDir.resolve(CertAuthority.CA_CERT)) ? CertAuthority.load(caDir)
        : CertAuthority.init(caDir, "Flotilla local cluster CA", CertAuthority.DEFAULT_CA_VALIDITY);
    for (int i = 1; i <= nodes; i++) {
      Path node = dir.resolve("node-" + i);
      if (!Files.exists(node.resolve(io.flotilla.client.tls.TlsFiles.CERT))) {
        ca.issueNode(i, List.of("127.0.0.1", "localhost"), CertAuthority.DEFAULT_LEAF_VALIDITY, node);
      }
    }
    Path client = dir.resolve(CLIENT);
    if (!Files.exists(client.resolve(io.flotilla.client.tls.TlsFiles.CERT))) {
      ca.issueClient("local-admin", CertAuthority.DEFAULT_LEAF_VALIDITY, client);
    }
    return client;
  }
}
