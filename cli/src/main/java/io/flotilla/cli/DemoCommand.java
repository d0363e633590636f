package io.flotilla.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The counter demo against a fresh local cluster. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Starts a fresh local cluster (separate processes), runs several clients"
        + " incrementing one counter while the leader is killed with kill -9 and restarted a few"
        + " times, then checks that every replica holds the same counter and that it equals the"
        + " acknowledged increments. Exit code 0 only if it does.")
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--nodes", defaultValue = "3", description = "Default: ${DEFAULT-VALUE}.")
  int nodes;

  @Option(names = "--clients", defaultValue = "8", description = "Default: ${DEFAULT-VALUE}.")
  int clients;

  @Option(names = "--kills", defaultValue = "3", description = "Default: ${DEFAULT-VALUE}.")
  int kills;

  @Option(names = "--phase-ms", defaultValue = "3000",
      description = "Time between steps. Default: ${DEFAULT-VALUE}.")
  long phaseMillis;

  @Option(names = "--base-port", defaultValue = "7100", description = "Default: ${DEFAULT-VALUE}.")
  int basePort;

  @Option(names = "--data-dir", defaultValue = ".flotilla/demo",
      description = "Wiped at the start. Default: ${DEFAULT-VALUE}.")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    wipe(dataDir);
    Demo.Outcome o = new Demo(new Demo.Settings(nodes, clients, kills,
        Duration.ofMillis(phaseMillis), basePort, dataDir), System.out).run();
    return o.ok() ? 0 : 1;
  }

  static void wipe(Path dir) throws java.io.IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> all = Files.walk(dir)) {
        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(dir);
  }
}
