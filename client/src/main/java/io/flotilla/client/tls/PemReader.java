package io.flotilla.client.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM certificates and PKCS#8 private keys with the JDK alone: a node or client needs no
 * BouncyCastle to load its material (only {@code bin/flotilla certs}, which issues it, does).
 */
final class PemReader {
  private static final Pattern KEY = Pattern.compile(
      "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  private PemReader() {}

  static List<X509Certificate> certificates(Path file) {
    byte[] bytes = read(file);
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<X509Certificate> certs = cf.generateCertificates(new ByteArrayInputStream(bytes)).stream()
          .map(X509Certificate.class::cast).toList();
      if (certs.isEmpty()) {
        throw new TlsConfigException(file + " holds no PEM certificate");
      }
      return certs;
    } catch (GeneralSecurityException e) {
      throw new TlsConfigException(file + " is not a PEM certificate file: " + e.getMessage(), e);
    }
  }

  static PrivateKey privateKey(Path file) {
    String text = new String(read(file), StandardCharsets.US_ASCII);
    Matcher m = KEY.matcher(text);
    if (!m.find()) {
      String hint = text.contains("BEGIN EC PRIVATE KEY") || text.contains("BEGIN RSA PRIVATE KEY")
          ? ": it is in the older SEC1/PKCS#1 form; convert it with"
              + " `openssl pkcs8 -topk8 -nocrypt -in OLD -out " + file.getFileName() + "`"
          : text.contains("ENCRYPTED PRIVATE KEY") ? ": encrypted keys are not supported" : "";
      throw new TlsConfigException(file + " holds no unencrypted PKCS#8 private key (BEGIN PRIVATE KEY)" + hint);
    }
    byte[] der = Base64.getMimeDecoder().decode(m.group(1));
    for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // not this algorithm: try the next
      }
    }
    throw new TlsConfigException(file + " holds a private key of an unsupported type (EC, RSA, Ed25519 are)");
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new TlsConfigException("cannot read " + file + ": " + e, e);
    }
  }
}
