package io.flotilla.cli;

import io.flotilla.app.load.AppLoad;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bin/flotilla app-load}: simulated people booking through the site, then the check. */
@Command(name = "app-load", mixinStandardHelpOptions = true,
    description = "Drives N simulated people booking seats through the booking site's HTTP API"
        + " (one or several app instances), then checks that no seat was booked twice, that every"
        + " confirmed booking is present, and that the seats booked equal the seats confirmed."
        + " Prints the counts; exit code 0 only when the check holds.")
final class AppLoadCommand implements Callable<Integer> {
  @Option(names = "--app", required = true, paramLabel = "URL[,URL...]",
      description = "The app instances, e.g. http://127.0.0.1:8080,http://127.0.0.1:8081; person i"
          + " uses instance i mod count, and moves to the next one when its instance is down.")
  String apps;

  @Option(names = "--people", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
  int people;

  @Option(names = "--duration", defaultValue = "30s",
      description = "How long people keep booking (e.g. 30s, 5m). Default: ${DEFAULT-VALUE}.")
  String duration;

  @Option(names = "--think-ms", defaultValue = "200",
      description = "Each person waits up to this long between bookings. Default: ${DEFAULT-VALUE}.")
  long thinkMillis;

  @Option(names = "--retry-grace", defaultValue = "60s",
      description = "After the end, how long a booking in doubt may still be asked again before it"
          + " counts as unresolved (which fails the check). Default: ${DEFAULT-VALUE}.")
  String retryGrace;

  @Option(names = "--seed", defaultValue = "1", description = "Seats chosen and the run's name. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Override
  public Integer call() throws Exception {
    List<URI> urls = Arrays.stream(apps.split(",")).filter(s -> !s.isBlank())
        .map(s -> URI.create(s.trim().endsWith("/") ? s.trim() : s.trim() + "/")).toList();
    AppLoad.Result r = new AppLoad(new AppLoad.Settings(urls, people, BenchCommand.parse(duration),
        java.time.Duration.ofMillis(thinkMillis), seed, BenchCommand.parse(retryGrace)), System.out).run();
    return r.ok() ? 0 : 1;
  }
}
