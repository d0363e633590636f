package io.flotilla.certs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Set;

/**
 * Writes PEM files. Each file is written beside its target and moved over it in one rename, so a
 * node reloading its certificate never reads half a file; a private key's file is created
 * owner-only (0600) before a byte of the key is in it.
 */
final class PemFiles {
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private PemFiles() {}

  static void writeCertificates(Path file, X509Certificate... certs) throws IOException {
    StringBuilder b = new StringBuilder();
    for (X509Certificate c : certs) {
      try {
        b.append(pem("CERTIFICATE", c.getEncoded()));
      } catch (CertificateEncodingException e) {
        throw new IOException("cannot encode " + c.getSubjectX500Principal(), e);
      }
    }
    write(file, b.toString(), false);
  }

  /** PKCS#8 ("BEGIN PRIVATE KEY"): what the JDK reads without BouncyCastle. */
  static void writePrivateKey(Path file, PrivateKey key) throws IOException {
    write(file, pem("PRIVATE KEY", key.getEncoded()), true);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static void write(Path file, String text, boolean secret) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    if (secret) {
      try {
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } catch (UnsupportedOperationException e) { // not a POSIX file system
        Files.createFile(tmp);
      }
    } else {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, text, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Fails if {@code file} exists: a CA is never overwritten by accident. */
  static void refuseExisting(Path file) throws FileAlreadyExistsException {
    if (Files.exists(file)) {
      throw new FileAlreadyExistsException(file.toString(), null,
          "already exists; a new CA would orphan every certificate it issued (remove it first if that is meant)");
    }
  }
}
