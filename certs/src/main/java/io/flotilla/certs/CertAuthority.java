package io.flotilla.certs;

import io.flotilla.client.tls.TlsFiles;
import io.flotilla.client.tls.TlsIdentity;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A cluster's certificate authority: its key pair in a directory ({@value #CA_CERT},
 * {@value #CA_KEY}), and the node and client certificates it issues. Keys are EC P-256 and made
 * where they are written: a node's or client's key never exists anywhere but in its own output
 * directory, the CA's never outside the CA's.
 *
 * <p>What a certificate says (read back by {@code client.tls.TlsIdentity}): a node's names
 * {@code flotilla://node/N} as a URI and {@code CN=node-N}, and its hosts as DNS or IP names (for
 * clients' host name checks), usable by a server and a client (nodes dial peers); a client's names
 * {@code flotilla://client/NAME} and {@code CN=NAME}, usable by a client only.
 */
public final class CertAuthority {
  public static final String CA_CERT = "ca.pem";
  public static final String CA_KEY = "ca-key.pem";
  public static final Duration DEFAULT_CA_VALIDITY = Duration.ofDays(3650);
  public static final Duration DEFAULT_LEAF_VALIDITY = Duration.ofDays(365);
  /** A certificate is valid from a little before it is made: clocks of a cluster differ a bit. */
  static final Duration BACKDATE = Duration.ofMinutes(5);
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final X509Certificate caCert;
  private final PrivateKey caKey;

  private CertAuthority(X509Certificate caCert, PrivateKey caKey) {
    this.caCert = caCert;
    this.caKey = caKey;
  }

  /** Makes a new CA in {@code dir}; refuses if one is there already. */
  public static CertAuthority init(Path dir, String name, Duration validity) throws IOException {
    PemFiles.refuseExisting(dir.resolve(CA_CERT));
    PemFiles.refuseExisting(dir.resolve(CA_KEY));
    KeyPair pair = newKeyPair();
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Flotilla")
        .addRDN(BCStyle.CN, name).build();
    Instant now = Instant.now();
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
          Date.from(now.minus(BACKDATE)), Date.from(now.plus(validity)), subject, pair.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0)); // issues leaves only
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      X509Certificate cert = sign(b, pair.getPrivate());
      PemFiles.writePrivateKey(dir.resolve(CA_KEY), pair.getPrivate());
      PemFiles.writeCertificates(dir.resolve(CA_CERT), cert);
      return new CertAuthority(cert, pair.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IOException("cannot make the CA certificate: " + e, e);
    }
  }

  /** The CA in {@code dir}, as {@link #init} wrote it. */
  public static CertAuthority load(Path dir) throws IOException {
    Path certFile = dir.resolve(CA_CERT);
    Path keyFile = dir.resolve(CA_KEY);
    if (!Files.isReadable(certFile) || !Files.isReadable(keyFile)) {
      throw new IOException("no CA in " + dir + " (" + CA_CERT + " and " + CA_KEY
          + " needed): run `bin/flotilla certs init --out " + dir + "` first");
    }
    try (var in = Files.newInputStream(certFile)) {
      X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      String pem = Files.readString(keyFile).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
      PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
      return new CertAuthority(cert, key);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("cannot read the CA in " + dir + ": " + e, e);
    }
  }

  public X509Certificate certificate() {
    return caCert;
  }

  /**
   * Issues node {@code id}'s certificate, valid for {@code validity} from now, into {@code out}
   * (a TLS directory: {@link TlsFiles}); {@code hosts}: the names and addresses clients dial it by.
   */
  public X509Certificate issueNode(long id, List<String> hosts, Duration validity, Path out) throws IOException {
    Instant now = Instant.now();
    return issueNode(id, hosts, now.minus(BACKDATE), now.plus(validity), out);
  }

  /** As above with an explicit validity window (tests make expired certificates with it). */
  public X509Certificate issueNode(long id, List<String> hosts, Instant notBefore, Instant notAfter, Path out)
      throws IOException {
    if (hosts.isEmpty()) {
      throw new IllegalArgumentException("a node certificate needs at least one --host (the names clients dial it by)");
    }
    List<GeneralName> names = new ArrayList<>();
    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, TlsIdentity.nodeUri(id)));
    for (String h : hosts) {
      names.add(hostName(h));
    }
    return issue("node-" + id, names, new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth},
        notBefore, notAfter, out);
  }

  /** Issues client {@code name}'s certificate into {@code out}. */
  public X509Certificate issueClient(String name, Duration validity, Path out) throws IOException {
    Instant now = Instant.now();
    return issueClient(name, now.minus(BACKDATE), now.plus(validity), out);
  }

  public X509Certificate issueClient(String name, Instant notBefore, Instant notAfter, Path out) throws IOException {
    List<GeneralName> names = List.of(new GeneralName(GeneralName.uniformResourceIdentifier, TlsIdentity.clientUri(name)));
    return issue(name, names, new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}, notBefore, notAfter, out);
  }

  private X509Certificate issue(String cn, List<GeneralName> names, KeyPurposeId[] purposes,
      Instant notBefore, Instant notAfter, Path out) throws IOException {
    if (!notAfter.isAfter(notBefore)) {
      throw new IllegalArgumentException("validity must be positive");
    }
    KeyPair pair = newKeyPair();
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Flotilla").addRDN(BCStyle.CN, cn).build();
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(notBefore),
          Date.from(notAfter), subject, pair.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
      X509Certificate cert = sign(b, caKey);
      // Key first, certificate last: a node reloading mid-way sees a key that does not match the
      // old certificate, refuses the pair and keeps its current one until both are in place.
      PemFiles.writeCertificates(out.resolve(TlsFiles.CA), caCert);
      PemFiles.writePrivateKey(out.resolve(TlsFiles.KEY), pair.getPrivate());
      PemFiles.writeCertificates(out.resolve(TlsFiles.CERT), cert);
      return cert;
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IOException("cannot issue the certificate of " + cn + ": " + e, e);
    }
  }

  private static GeneralName hostName(String host) {
    String h = host.trim();
    if (h.isEmpty()) {
      throw new IllegalArgumentException("empty --host");
    }
    if (IPV4.matcher(h).matches() || h.contains(":")) {
      try {
        InetAddress.getByName(h); // a literal: no lookup; rejects 999.1.1.1
      } catch (java.net.UnknownHostException e) {
        throw new IllegalArgumentException("'" + host + "' is not an IP address");
      }
      return new GeneralName(GeneralName.iPAddress, h);
    }
    if (!h.matches("[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
      throw new IllegalArgumentException("'" + host + "' is not a host name or IP address");
    }
    return new GeneralName(GeneralName.dNSName, h);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot make EC P-256 keys", e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE); // positive, unguessable (RFC 5280: up to 20 bytes)
  }
}
