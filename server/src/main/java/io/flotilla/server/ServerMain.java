package io.flotilla.server;

import picocli.CommandLine;

/**
 * The node process on its own: {@code java -cp CLASSPATH io.flotilla.server.ServerMain --id 1 ...}
 * runs exactly what {@code bin/flotilla server --id 1 ...} runs. {@code LocalCluster} starts its
 * nodes through it, so the tools that start clusters need the server module, not the CLI.
 */
public final class ServerMain {
  private ServerMain() {}

  public static void main(String[] args) {
    // Named as under bin/flotilla, so usage errors read the same either way.
    System.exit(new CommandLine(new ServerCommand()).setCommandName("flotilla server").execute(args));
  }
}
