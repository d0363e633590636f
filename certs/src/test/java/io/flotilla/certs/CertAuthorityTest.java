package io.flotilla.certs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.tls.TlsConfigException;
import io.flotilla.client.tls.TlsFiles;
import io.flotilla.client.tls.TlsIdentity;
import io.flotilla.client.tls.TlsMaterial;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the CA issues, and how an endpoint loads and reloads it. */
class CertAuthorityTest {
  @TempDir Path dir;

  @Test
  void aNodeCertificateNamesItsIdAndHostsAndIsSignedByTheCa() throws Exception {
    CertAuthority ca = CertAuthority.init(dir.resolve("ca"), "t", Duration.ofDays(10));
    X509Certificate node = ca.issueNode(3, List.of("db3", "10.1.2.3"), Duration.ofDays(1), dir.resolve("n3"));
    node.verify(ca.certificate().getPublicKey());
    assertThat(TlsIdentity.of(node)).contains(new TlsIdentity.Node(3));
    List<Object> names = node.getSubjectAlternativeNames().stream().map(san -> (Object) san.get(1)).toList();
    assertThat(names).contains("flotilla://node/3", "db3", "10.1.2.3");
    assertThat(node.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    assertThat(node.getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertThat(Duration.between(node.getNotBefore().toInstant(), node.getNotAfter().toInstant()))
        .isBetween(Duration.ofDays(1), Duration.ofDays(1).plus(CertAuthority.BACKDATE));

    X509Certificate client = ca.issueClient("alice", Duration.ofDays(1), dir.resolve("alice"));
    assertThat(TlsIdentity.of(client)).contains(new TlsIdentity.Client("alice"));
    assertThat(client.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
  }

  @Test
  void aCaIsNeverOverwrittenAndBadInputIsRefused() throws Exception {
    CertAuthority ca = CertAuthority.init(dir.resolve("ca"), "t", Duration.ofDays(10));
    assertThatThrownBy(() -> CertAuthority.init(dir.resolve("ca"), "t", Duration.ofDays(10)))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThatThrownBy(() -> ca.issueNode(1, List.of(), Duration.ofDays(1), dir.resolve("x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--host");
    assertThatThrownBy(() -> ca.issueNode(1, List.of("300.1.1.1"), Duration.ofDays(1), dir.resolve("x")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ca.issueClient("../etc", Duration.ofDays(1), dir.resolve("x")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(CertAuthority.load(dir.resolve("ca")).certificate()).isEqualTo(ca.certificate());
  }

  @Test
  void materialReloadsWhenFilesChangeAndKeepsTheOldWhenTheNewDoNotLoad() throws Exception {
    CertAuthority ca = CertAuthority.init(dir.resolve("ca"), "t", Duration.ofDays(10));
    Path n = dir.resolve("n1");
    X509Certificate first = ca.issueNode(1, List.of("localhost"), Duration.ofDays(1), n);
    TlsMaterial m = new TlsMaterial(TlsFiles.inDir(n));
    assertThat(m.current().cert()).isEqualTo(first);
    assertThat(m.reloadIfChanged().version()).isEqualTo(1);

    X509Certificate second = ca.issueNode(1, List.of("localhost"), Duration.ofDays(2), n);
    assertThat(m.reloadIfChanged().cert()).isEqualTo(second);
    assertThat(m.current().version()).isEqualTo(2);
    assertThat(m.reloads()).isEqualTo(1);

    // A rotation caught half-way: a new key beside the old certificate. Refused, the old stays.
    Path other = dir.resolve("other");
    ca.issueNode(1, List.of("localhost"), Duration.ofDays(1), other);
    Files.copy(other.resolve(TlsFiles.KEY), n.resolve(TlsFiles.KEY), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThat(m.reloadIfChanged().cert()).isEqualTo(second);
    assertThat(m.reloadFailures()).isEqualTo(1);
    // ... and once the certificate follows, the pair loads.
    Files.copy(other.resolve(TlsFiles.CERT), n.resolve(TlsFiles.CERT), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThat(m.reloadIfChanged().version()).isEqualTo(3);
  }

  @Test
  void unusableFilesFailWithAMessageNamingThem() throws Exception {
    assertThatThrownBy(() -> new TlsMaterial(TlsFiles.inDir(dir.resolve("none"))))
        .isInstanceOf(TlsConfigException.class).hasMessageContaining("cert.pem").hasMessageContaining("key.pem");
    CertAuthority ca = CertAuthority.init(dir.resolve("ca"), "t", Duration.ofDays(10));
    Path n = dir.resolve("n1");
    ca.issueNode(1, List.of("localhost"), Duration.ofDays(1), n);
    Files.writeString(n.resolve(TlsFiles.KEY), "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
    assertThatThrownBy(() -> new TlsMaterial(TlsFiles.inDir(n)))
        .isInstanceOf(TlsConfigException.class).hasMessageContaining("openssl pkcs8");
  }
}
