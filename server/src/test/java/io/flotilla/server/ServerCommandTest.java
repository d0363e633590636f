package io.flotilla.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServerCommandTest {
  @TempDir
  Path dir;

  @Test
  void aBadNetworkThreadCountIsAUsageErrorAndStartsNothing() {
    for (String bad : new String[] {"0", "65", "-1"}) {
      StringWriter err = new StringWriter();
      CommandLine cmd = new CommandLine(new ServerCommand()).setErr(new PrintWriter(err));
      int code = cmd.execute("--id", "1", "--data-dir", dir.resolve("n" + bad).toString(),
          "--bootstrap", "--client", "127.0.0.1:1", "--peer", "127.0.0.1:2", "--admin", "127.0.0.1:3",
          "--net-threads", bad);
      assertThat(code).as("exit code for --net-threads " + bad).isEqualTo(2);
      assertThat(err.toString()).contains("--net-threads must be 1 to 64, got " + bad);
      assertThat(dir.resolve("n" + bad)).doesNotExist();
    }
  }

  @Test
  void badConnectionLimitsAreUsageErrorsAndStartNothing() {
    String[][] cases = {{"--max-client-connections", "0", "max client connections"},
        {"--client-input-budget-bytes", "0", "client input budget"},
        {"--frame-timeout-ms", "0", "frame timeout"}, {"--idle-timeout-ms", "-1", "idle timeout"},
        {"--dead-after", "0s", "--dead-after must be a positive duration"},
        {"--dead-after", "five minutes", "such as 90s, 5m or 1h"}};
    for (String[] c : cases) {
      StringWriter err = new StringWriter();
      CommandLine cmd = new CommandLine(new ServerCommand()).setErr(new PrintWriter(err));
      Path data = dir.resolve("limits" + c[0]);
      int code = cmd.execute("--id", "1", "--data-dir", data.toString(), "--bootstrap",
          "--client", "127.0.0.1:1", "--peer", "127.0.0.1:2", "--admin", "127.0.0.1:3", c[0], c[1]);
      assertThat(code).as("exit code for " + c[0] + " " + c[1]).isEqualTo(2);
      assertThat(err.toString()).contains(c[2]);
      assertThat(data).doesNotExist();
    }
  }

  @Test
  void badTlsOptionsAreUsageErrorsWithTheReason() throws Exception {
    io.flotilla.certs.CertAuthority ca = io.flotilla.certs.CertAuthority.init(dir.resolve("ca"), "t",
        java.time.Duration.ofDays(1));
    ca.issueNode(2, java.util.List.of("127.0.0.1"), java.time.Duration.ofDays(1), dir.resolve("node-2"));
    String[][] cases = {
        {"--tls-cert", "x.pem", "go together"},
        {"--tls-dir", dir.resolve("nowhere").toString(), "TLS files missing"},
        {"--tls-dir", dir.resolve("node-2").toString(), "not of node 1"}};
    for (String[] c : cases) {
      StringWriter err = new StringWriter();
      Path data = dir.resolve("tls" + c[2].hashCode());
      int code = run(err, "--id", "1", "--data-dir", data.toString(), "--bootstrap",
          "--client", "127.0.0.1:1", "--peer", "127.0.0.1:2", "--admin", "127.0.0.1:3", c[0], c[1]);
      assertThat(code).as("exit code for " + c[0] + " " + c[1] + ": " + err).isEqualTo(2);
      assertThat(err.toString()).contains(c[2]);
    }
  }

  private static int run(StringWriter err, String... args) {
    return new CommandLine(new ServerCommand()).setErr(new PrintWriter(err)).execute(args);
  }

  @Test
  void aDataDirectoryKeepsItsNodeIdAndRefusesAnother() throws Exception {
    Path data = dir.resolve("kept");
    io.flotilla.server.node.NodeIdentity made = io.flotilla.server.node.NodeIdentity.create(data, 4);
    StringWriter err = new StringWriter();
    // Another id on that directory is a usage error (checked before anything listens or opens).
    int code = run(err, "--id", "5", "--data-dir", data.toString(), "--members", "5=127.0.0.1:2",
        "--client", "127.0.0.1:1", "--peer", "127.0.0.1:2", "--admin", "127.0.0.1:3");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("belongs to node 4").contains("--id 4");
    assertThat(io.flotilla.server.node.NodeIdentity.read(data)).contains(made);
    // A static member needs its id; a directory with state but no identity file needs one too.
    err = new StringWriter();
    assertThat(run(err, "--data-dir", dir.resolve("static").toString(), "--members", "1=127.0.0.1:2",
        "--client", "127.0.0.1:1", "--peer", "127.0.0.1:2", "--admin", "127.0.0.1:3")).isEqualTo(2);
    assertThat(err.toString()).contains("--id is required with --members");
    java.nio.file.Files.createDirectories(dir.resolve("old").resolve("state"));
    err = new StringWriter();
    assertThat(run(err, "--data-dir", dir.resolve("old").toString(), "--join", "127.0.0.1:1",
        "--client", "127.0.0.1:1", "--peer", "127.0.0.1:2", "--admin", "127.0.0.1:3")).isEqualTo(2);
    assertThat(err.toString()).contains("holds a node's state but no node-id file");
  }

  @Test
  void aDamagedIdentityFileIsAClearErrorNotAGuess() throws Exception {
    Path data = dir.resolve("damaged");
    java.nio.file.Files.createDirectories(data);
    java.nio.file.Files.writeString(data.resolve("node-id"), "id=x\n");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.flotilla.server.node.NodeIdentity.read(data))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("is not a node identity file");
  }
}
