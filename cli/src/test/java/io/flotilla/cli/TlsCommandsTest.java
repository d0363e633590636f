package io.flotilla.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.server.local.LocalCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 20 through the command line: certs, and a TLS cluster of separate processes. */
class TlsCommandsTest {
  @TempDir Path dir;

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = FlotillaMain.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void certsMakesACaAndIssuesNodeAndClientCertificatesWithOwnerOnlyKeys() throws Exception {
    Path ca = dir.resolve("ca");
    assertThat(run("certs", "init", "--out", ca.toString()).code()).isZero();
    Run again = run("certs", "init", "--out", ca.toString());
    assertThat(again.code()).isEqualTo(1);
    assertThat(again.err()).contains("already exists");
    assertThat(run("certs", "node", "--ca", ca.toString(), "--id", "7", "--host", "db7.example,10.0.0.7").code()).isZero();
    assertThat(run("certs", "client", "--ca", ca.toString(), "--name", "alice", "--validity", "30d").code()).isZero();
    for (Path key : new Path[] {ca.resolve("ca-key.pem"), ca.resolve("node-7/key.pem"), ca.resolve("client-alice/key.pem")}) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).as(key.toString()).isEqualTo("rw-------");
    }
    assertThat(Files.readString(ca.resolve("node-7/ca.pem"))).isEqualTo(Files.readString(ca.resolve("ca.pem")));
    // Bad input: a usage error (2) with the reason, never a stack trace.
    assertThat(run("certs", "node", "--ca", ca.toString(), "--id", "0", "--host", "x").err()).contains("--id must be positive");
    assertThat(run("certs", "node", "--ca", ca.toString(), "--id", "2", "--host", "bad host!").err()).contains("not a host name");
    assertThat(run("certs", "client", "--ca", ca.toString(), "--name", "a b").err()).contains("client name 'a b'");
    assertThat(run("certs", "client", "--ca", ca.toString(), "--name", "bob", "--validity", "-3d").err()).contains("--validity");
    Run noCa = run("certs", "client", "--ca", dir.resolve("none").toString(), "--name", "bob");
    assertThat(noCa.code()).isEqualTo(1);
    assertThat(noCa.err()).contains("certs init");
  }

  @Test
  void aTlsClusterOfProcessesServesTheCliWithACertificateAndRefusesItWithout() throws Exception {
    Path tls = dir.resolve("tls");
    Path client = LocalTls.ensure(tls, 3);
    try (LocalCluster cluster = new LocalCluster(3, DemoTest.freeBase(), dir.resolve("data")).withTls(tls)) {
      cluster.startAll();
      String eps = cluster.clientEndpoints();
      Run put = run("put", "--endpoints", eps, "--tls-dir", client.toString(), "greeting", "hello");
      assertThat(put.code()).as(put.err()).isZero();
      Run get = run("get", "--endpoints", eps, "--tls-dir", tls.resolve("node-2").toString(), "greeting");
      assertThat(get.code()).as(get.err()).isZero();
      Run plain = run("get", "--endpoints", eps, "greeting");
      assertThat(plain.code()).isEqualTo(2);
      Run missing = run("get", "--endpoints", eps, "--tls-dir", dir.resolve("nowhere").toString(), "greeting");
      assertThat(missing.code()).isEqualTo(2);
      assertThat(missing.err()).contains("TLS files missing");
    }
  }
}
