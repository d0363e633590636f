package io.flotilla.cli;

import io.flotilla.certs.CertAuthority;
import io.flotilla.client.tls.TlsFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bin/flotilla certs init|node|client}: the cluster CA and the certificates it issues
 * (docs/security.md). Every key is made where it is written and never printed.
 */
@Command(name = "certs", mixinStandardHelpOptions = true,
    description = "A cluster certificate authority: init makes the CA, node and client issue certificates"
        + " (EC P-256, PEM; private keys 0600). See docs/security.md.",
    subcommands = {CertsCommand.Init.class, CertsCommand.Node.class, CertsCommand.Client.class})
final class CertsCommand {
  static final String DEFAULT_CA_DIR = ".flotilla/ca";

  /** "365d", "12h", "90m" or an ISO-8601 duration ("P30D"). */
  static Duration parseValidity(String text, picocli.CommandLine cl) {
    try {
      String t = text.trim().toLowerCase(java.util.Locale.ROOT);
      Duration d;
      if (t.endsWith("d")) {
        d = Duration.ofDays(Long.parseLong(t.substring(0, t.length() - 1)));
      } else if (t.endsWith("h")) {
        d = Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1)));
      } else if (t.endsWith("m")) {
        d = Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
      } else {
        d = Duration.parse(text.trim().toUpperCase(java.util.Locale.ROOT));
      }
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException();
      }
      return d;
    } catch (RuntimeException e) {
      throw new ParameterException(cl, "--validity '" + text + "' is not a positive duration such as 365d, 12h or P30D");
    }
  }

  static void printIssued(java.io.PrintWriter out, X509Certificate c, Path dir) {
    out.printf("%s, valid until %s%n  %s%n  %s (0600)%n  %s%n", c.getSubjectX500Principal(),
        c.getNotAfter().toInstant(), dir.resolve(TlsFiles.CERT), dir.resolve(TlsFiles.KEY), dir.resolve(TlsFiles.CA));
    out.flush();
  }

  @Command(name = "init", mixinStandardHelpOptions = true,
      description = "Makes a new cluster CA in DIR: ca.pem (give it to every node and client) and"
          + " ca-key.pem (0600; keep it on this machine, offline if you can). Refuses to overwrite one.")
  static final class Init implements Callable<Integer> {
    @Option(names = "--out", defaultValue = DEFAULT_CA_DIR, paramLabel = "DIR", description = "Default: ${DEFAULT-VALUE}.")
    Path out;

    @Option(names = "--name", defaultValue = "Flotilla cluster CA", description = "The CA's common name. Default: ${DEFAULT-VALUE}.")
    String name;

    @Option(names = "--validity", defaultValue = "3650d", description = "Default: ${DEFAULT-VALUE} (10 years).")
    String validity;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      Duration d = parseValidity(validity, spec.commandLine());
      try {
        CertAuthority ca = CertAuthority.init(out, name, d);
        var w = spec.commandLine().getOut();
        w.printf("CA %s, valid until %s%n  %s%n  %s (0600)%n", ca.certificate().getSubjectX500Principal(),
            ca.certificate().getNotAfter().toInstant(), out.resolve(CertAuthority.CA_CERT), out.resolve(CertAuthority.CA_KEY));
        w.flush();
        return 0;
      } catch (java.nio.file.FileAlreadyExistsException e) {
        spec.commandLine().getErr().println("flotilla certs init: " + e.getFile() + " " + e.getReason());
        return 1;
      }
    }
  }

  @Command(name = "node", mixinStandardHelpOptions = true,
      description = "Issues node N's certificate into OUT (cert.pem, key.pem, ca.pem: what `server --tls-dir OUT`"
          + " reads). Run it again to rotate: the node reloads the new files without a restart.")
  static final class Node implements Callable<Integer> {
    @Option(names = "--ca", defaultValue = DEFAULT_CA_DIR, paramLabel = "DIR", description = "The CA's directory. Default: ${DEFAULT-VALUE}.")
    Path ca;

    @Option(names = "--id", required = true, description = "The node's id (it is written into the certificate; peers check it).")
    long id;

    @Option(names = "--host", required = true, split = ",", paramLabel = "NAME",
        description = "Host names and IP addresses clients reach the node by (repeatable or comma-separated);"
            + " clients check the name they dial against these.")
    List<String> hosts;

    @Option(names = "--out", paramLabel = "DIR", description = "Default: CA-DIR/node-N.")
    Path out;

    @Option(names = "--validity", defaultValue = "365d", description = "Default: ${DEFAULT-VALUE}.")
    String validity;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      if (id <= 0) {
        throw new ParameterException(spec.commandLine(), "--id must be positive, got " + id);
      }
      Duration d = parseValidity(validity, spec.commandLine());
      Path dir = out != null ? out : ca.resolve("node-" + id);
      X509Certificate c;
      try {
        c = CertAuthority.load(ca).issueNode(id, hosts, d, dir);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      } catch (IOException e) {
        spec.commandLine().getErr().println("flotilla certs " + spec.name() + ": " + e.getMessage());
        return 1;
      }
      printIssued(spec.commandLine().getOut(), c, dir);
      return 0;
    }
  }

  @Command(name = "client", mixinStandardHelpOptions = true,
      description = "Issues client NAME's certificate into OUT (cert.pem, key.pem, ca.pem: what `--tls-dir OUT`"
          + " or FLOTILLA_TLS_DIR reads).")
  static final class Client implements Callable<Integer> {
    @Option(names = "--ca", defaultValue = DEFAULT_CA_DIR, paramLabel = "DIR", description = "The CA's directory. Default: ${DEFAULT-VALUE}.")
    Path ca;

    @Option(names = "--name", required = true, description = "The client's name (letters, digits, . _ -; up to 64).")
    String name;

    @Option(names = "--out", paramLabel = "DIR", description = "Default: CA-DIR/client-NAME.")
    Path out;

    @Option(names = "--validity", defaultValue = "365d", description = "Default: ${DEFAULT-VALUE}.")
    String validity;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      Duration d = parseValidity(validity, spec.commandLine());
      Path dir = out != null ? out : ca.resolve("client-" + name);
      X509Certificate c;
      try {
        c = CertAuthority.load(ca).issueClient(name, d, dir);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      } catch (IOException e) {
        spec.commandLine().getErr().println("flotilla certs " + spec.name() + ": " + e.getMessage());
        return 1;
      }
      printIssued(spec.commandLine().getOut(), c, dir);
      return 0;
    }
  }
}
