package io.flotilla.cli;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.tls.ClientTls;
import io.flotilla.client.tls.TlsConfigException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --tls-dir} (or {@code $FLOTILLA_TLS_DIR}) for every command that talks to a cluster: a
 * directory from {@code bin/flotilla certs client} (or {@code certs node}). Unset: plain text.
 */
final class TlsOption {
  @Option(names = "--tls-dir", paramLabel = "DIR", defaultValue = "${env:FLOTILLA_TLS_DIR}",
      description = "Connect over TLS with the certificate in DIR (cert.pem, key.pem, ca.pem from"
          + " `bin/flotilla certs client`); or $FLOTILLA_TLS_DIR. Default: plain text.")
  Path dir;

  /** The TLS of {@code --tls-dir}, or null; bad files fail with a message naming them. */
  ClientTls tls(picocli.CommandLine cl) {
    if (dir == null) {
      return null;
    }
    try {
      return ClientTls.fromDir(dir);
    } catch (TlsConfigException e) {
      throw new picocli.CommandLine.ParameterException(cl, "--tls-dir " + dir + ": " + e.getMessage());
    }
  }

  ClientOptions apply(ClientOptions options, picocli.CommandLine cl) {
    return options.withTls(tls(cl));
  }
}
