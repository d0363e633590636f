package io.flotilla.app;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/flotilla app}: one instance of the booking site, until Ctrl-C or SIGTERM. */
@Command(name = "app", mixinStandardHelpOptions = true,
    description = "Serves the booking site (pages and JSON API, docs/app.md) whose whole state lives"
        + " in the Flotilla cluster at --endpoints. Run as many instances as you like against one"
        + " cluster: they share everything through it.")
public final class AppCommand implements Callable<Integer> {
  @Option(names = "--endpoints", required = true, defaultValue = "${env:FLOTILLA_ENDPOINTS}",
      description = "The cluster's client addresses, HOST:PORT,... (default: $FLOTILLA_ENDPOINTS).")
  String endpoints;

  @Option(names = "--listen", defaultValue = "127.0.0.1:8080",
      description = "Where the site listens, HOST:PORT. Default: ${DEFAULT-VALUE}.")
  String listen;

  @Option(names = "--store-timeout-ms", defaultValue = "3000",
      description = "Deadline of one store call; past it the API answers 503 \"retrying\"."
          + " Default: ${DEFAULT-VALUE}.")
  long storeTimeoutMillis;

  @Option(names = "--seed", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Create the three sample events if they are missing (default: on; --no-seed: off).")
  boolean seed;

  @Option(names = "--tls-dir", paramLabel = "DIR", defaultValue = "${env:FLOTILLA_TLS_DIR}",
      description = "Talk to a cluster running TLS with the certificate in DIR (bin/flotilla certs client;"
          + " or $FLOTILLA_TLS_DIR). The site itself serves plain HTTP. Default: plain text.")
  java.nio.file.Path tlsDir;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    io.flotilla.client.tls.ClientTls tls = null;
    if (tlsDir != null) {
      try {
        tls = io.flotilla.client.tls.ClientTls.fromDir(tlsDir);
      } catch (io.flotilla.client.tls.TlsConfigException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--tls-dir " + tlsDir + ": " + e.getMessage());
      }
    }
    AppServer app = AppServer.start(AppServer.Options.of(endpoints, listen)
        .withStoreTimeout(Duration.ofMillis(storeTimeoutMillis)).withSeedEvents(seed).withTls(tls));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      app.close();
      stopped.countDown();
    }));
    System.out.println("booking site at " + app.url() + "/ (store: " + endpoints + ")");
    System.out.flush();
    stopped.await();
    return 0;
  }
}
