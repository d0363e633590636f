package io.flotilla.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code flotilla} command line ({@code bin/flotilla}). For now it only benchmarks the log;
 * it will move to a client module once there is a server to talk to.
 */
@Command(
    name = "flotilla",
    mixinStandardHelpOptions = true,
    versionProvider = FlotillaCli.Version.class,
    description = "Flotilla: a durable, replicated key-value database.",
    subcommands = {WalBenchCommand.class, CommandLine.HelpCommand.class})
public final class FlotillaCli implements Runnable {

  @Spec
  CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, for tests and for main. */
  public static CommandLine commandLine() {
    return new CommandLine(new FlotillaCli());
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing required subcommand");
  }

  /** The version from the jar's manifest when there is one. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = FlotillaCli.class.getPackage().getImplementationVersion();
      return new String[] {"flotilla " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}
