package io.flotilla.cli;

import io.flotilla.server.ServerCommand;
import io.flotilla.server.local.LocalCluster;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/flotilla}: run nodes, a local cluster, the demo, and talk to a cluster. */
@Command(name = "flotilla", mixinStandardHelpOptions = true, version = "flotilla 0.1.0-SNAPSHOT",
    description = "Flotilla: a durable, strongly consistent, replicated key-value database.",
    subcommands = {ServerCommand.class, LocalCommand.class, DemoCommand.class,
        KvCommands.Put.class, KvCommands.Get.class, KvCommands.Delete.class,
        KvCommands.Incr.class, KvCommands.Cas.class, KvCommands.Scan.class, KvCommands.Status.class, KvCommands.Member.class,
        RangeCommands.Range.class, PlacementCommands.Node.class, PlacementCommands.Placement.class,
        BenchCommand.class, ChaosCommand.class, io.flotilla.app.AppCommand.class, AppLoadCommand.class,
        CertsCommand.class, CommandLine.HelpCommand.class})
public final class FlotillaMain {
  private FlotillaMain() {}

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line with one rule for a local cluster that could not start: the node's own
   * error on one line and exit code 1, not a stack trace ({@code local}, {@code demo},
   * {@code bench --local} and {@code chaos} all start one).
   */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new FlotillaMain());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof LocalCluster.NodeFailedToStart) {
        cmd.getErr().println("flotilla " + cmd.getCommandName() + ": " + ex.getMessage());
        return 1;
      }
      throw ex;
    });
    return cl;
  }
}
