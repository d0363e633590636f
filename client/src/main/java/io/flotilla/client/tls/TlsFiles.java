package io.flotilla.client.tls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The three PEM files a TLS endpoint needs: its certificate (chain), its private key (PKCS#8),
 * and the cluster CA's certificate(s) it trusts. A TLS directory, as {@code bin/flotilla certs node}
 * and {@code certs client} write it, holds them as {@value #CERT}, {@value #KEY} and {@value #CA}:
 * nodes and clients read the same layout, so {@code --tls-dir} means one thing everywhere.
 */
public record TlsFiles(Path cert, Path key, Path ca) {
  public static final String CERT = "cert.pem";
  public static final String KEY = "key.pem";
  public static final String CA = "ca.pem";

  public TlsFiles {
    Objects.requireNonNull(cert, "cert");
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(ca, "ca");
  }

  /** The files of a TLS directory. */
  public static TlsFiles inDir(Path dir) {
    return new TlsFiles(dir.resolve(CERT), dir.resolve(KEY), dir.resolve(CA));
  }

  /**
   * Fails with one message naming every missing file (an operator fixes them all at once), or
   * returns this.
   */
  public TlsFiles requireReadable() {
    List<String> missing = new ArrayList<>();
    for (Path p : List.of(cert, key, ca)) {
      if (!Files.isReadable(p)) {
        missing.add(p.toString());
      }
    }
    if (!missing.isEmpty()) {
      throw new TlsConfigException("TLS files missing or unreadable: " + String.join(", ", missing)
          + " (bin/flotilla certs node|client writes " + CERT + ", " + KEY + " and " + CA + ")");
    }
    return this;
  }
}
