package io.flotilla.client.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One endpoint's certificate, key and trusted CAs, re-read from disk when the files change
 * (rotation without a restart). Whoever builds a connection asks {@link #current()}. By default
 * that itself looks, at most once per {@link #CHECK_INTERVAL_NANOS}, at the three files'
 * modification times and sizes (three stat calls, cheap for a client's rare connects) and, if any
 * changed, loads them again. A node, whose connections are set up on event loops that must never
 * touch the disk, makes its material {@link #checkedByCaller} and calls {@link #reloadIfChanged}
 * from a thread of its own. A reload that fails (files half-written mid-rotation, a key that does not match) keeps
 * the previous material, is logged once per distinct change, and is retried at the next check,
 * so a rotation written file by file takes effect once all three are in place.
 */
public final class TlsMaterial {
  private static final Logger LOG = LoggerFactory.getLogger(TlsMaterial.class);
  static final long CHECK_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * What was loaded.
   *
   * @param version  1 for the first load, +1 for each reload: contexts built from it are rebuilt
   *                 when it moves
   * @param chain    the endpoint's certificate first, then any intermediates
   * @param identity what the certificate names (a node or a client)
   */
  public record Loaded(long version, List<X509Certificate> chain, PrivateKey key,
      List<X509Certificate> trusted, TlsIdentity identity) {
    public X509Certificate cert() {
      return chain.get(0);
    }

    public Instant notAfter() {
      return cert().getNotAfter().toInstant();
    }
  }

  private final TlsFiles files;
  private final LongSupplier nanos;
  /** Refuses material this endpoint must not use (a node's certificate for another node id). */
  private final java.util.function.Consumer<Loaded> check;
  private volatile Loaded loaded;
  /** False: {@link #current()} never touches the disk; the owner calls {@link #reloadIfChanged}. */
  private final boolean checkOnUse;
  private String fingerprint;
  private String failedFingerprint;
  private volatile long lastCheck;
  private long reloads;
  private long reloadFailures;

  /** Loads now: a problem with the files fails here, with a message naming the file. */
  public TlsMaterial(TlsFiles files) {
    this(files, l -> { }, System::nanoTime, true);
  }

  /** Material whose owner looks for changes itself ({@link #reloadIfChanged}), never {@link #current()}. */
  public static TlsMaterial checkedByCaller(TlsFiles files, java.util.function.Consumer<Loaded> check) {
    return new TlsMaterial(files, check, System::nanoTime, false);
  }

  /**
   * @param check throws {@link TlsConfigException} for material this endpoint must refuse, at the
   *              first load (which then fails) and at every reload (which then keeps the old)
   */
  public TlsMaterial(TlsFiles files, java.util.function.Consumer<Loaded> check) {
    this(files, check, System::nanoTime, true);
  }

  TlsMaterial(TlsFiles files, java.util.function.Consumer<Loaded> check, LongSupplier nanos, boolean checkOnUse) {
    this.files = Objects.requireNonNull(files, "files").requireReadable();
    this.nanos = nanos;
    this.checkOnUse = checkOnUse;
    this.check = check;
    this.fingerprint = fingerprint();
    this.loaded = load(1);
    this.lastCheck = nanos.getAsLong();
  }

  public TlsFiles files() {
    return files;
  }

  /**
   * The newest material that loaded; unless {@link #checkedByCaller}, reloads first if the files
   * changed (checked at most once a second).
   */
  public Loaded current() {
    if (checkOnUse && nanos.getAsLong() - lastCheck >= CHECK_INTERVAL_NANOS) {
      refresh(false);
    }
    return loaded;
  }

  /** Looks at the files now, whatever the interval (tests, and callers that know they changed). */
  public Loaded reloadIfChanged() {
    refresh(true);
    return loaded;
  }

  public synchronized long reloads() {
    return reloads;
  }

  public synchronized long reloadFailures() {
    return reloadFailures;
  }

  private synchronized void refresh(boolean now) {
    long t = nanos.getAsLong();
    if (!now && t - lastCheck < CHECK_INTERVAL_NANOS) {
      return; // another caller just checked
    }
    lastCheck = t;
    String seen = fingerprint();
    if (seen.equals(fingerprint)) {
      return;
    }
    try {
      loaded = load(loaded.version() + 1);
      fingerprint = seen;
      failedFingerprint = null;
      reloads++;
      LOG.info("TLS material reloaded from {}: {} until {}", files.cert().getParent(),
          loaded.identity(), loaded.notAfter());
    } catch (TlsConfigException e) {
      reloadFailures++;
      if (!seen.equals(failedFingerprint)) {
        failedFingerprint = seen;
        LOG.warn("TLS files changed but cannot be loaded; keeping the previous certificate: {}", e.getMessage());
      }
    }
  }

  private Loaded load(long version) {
    List<X509Certificate> chain = PemReader.certificates(files.cert());
    PrivateKey key = PemReader.privateKey(files.key());
    List<X509Certificate> trusted = PemReader.certificates(files.ca());
    if (!key.getAlgorithm().equals(chain.get(0).getPublicKey().getAlgorithm())) {
      throw new TlsConfigException(files.key() + " is an " + key.getAlgorithm() + " key but "
          + files.cert() + " certifies an " + chain.get(0).getPublicKey().getAlgorithm() + " key");
    }
    if (!keyMatches(key, chain.get(0))) {
      throw new TlsConfigException(files.key() + " is not the private key of " + files.cert());
    }
    TlsIdentity identity = TlsIdentity.of(chain.get(0)).orElseThrow(() -> new TlsConfigException(
        files.cert() + " (" + chain.get(0).getSubjectX500Principal() + ") names no Flotilla node or"
            + " client: it needs a URI name flotilla://node/N or flotilla://client/NAME, or CN=node-N / CN=NAME"));
    Loaded l = new Loaded(version, List.copyOf(chain), key, List.copyOf(trusted), identity);
    check.accept(l);
    return l;
  }

  /** Signs a probe with the key and checks it with the certificate's public key. */
  private static boolean keyMatches(PrivateKey key, X509Certificate cert) {
    String algorithm = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> key.getAlgorithm();
    };
    try {
      byte[] probe = "flotilla key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      java.security.Signature s = java.security.Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(probe);
      byte[] signature = s.sign();
      s.initVerify(cert.getPublicKey());
      s.update(probe);
      return s.verify(signature);
    } catch (java.security.GeneralSecurityException e) {
      return false;
    }
  }

  private String fingerprint() {
    StringBuilder b = new StringBuilder();
    for (Path p : List.of(files.cert(), files.key(), files.ca())) {
      try {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        // Nanoseconds, size and inode: a rotation by rename, or a rewrite within a millisecond of
        // a certificate of the same size (EC certificates often are), is still seen.
        b.append(a.lastModifiedTime().to(TimeUnit.NANOSECONDS)).append('/').append(a.size())
            .append('/').append(a.fileKey()).append(';');
      } catch (IOException e) {
        b.append("missing;"); // mid-rotation: the next check sees it again
      }
    }
    return b.toString();
  }
}
