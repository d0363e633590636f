package io.flotilla.chaos;

import io.flotilla.client.Endpoint;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The chaos run's hands on the nodes' processes: where they are reached and how faults reach
 * them. {@link LocalProcesses}: separate JVMs on this machine, signalled directly.
 * {@link ComposeProcesses}: the containers of a compose file, through the docker command.
 * Node ids are 1..{@link #nodes()}.
 */
interface NodeProcesses extends AutoCloseable {
  int nodes();

  /** Every node's client address as this machine reaches it, {@code HOST:PORT,...}. */
  String clientEndpoints();

  /** Node {@code id}'s admin (HTTP) address as this machine reaches it. */
  Endpoint admin(int id);

  /** Starts every node and returns once each has been started (not necessarily serving). */
  void startAll() throws IOException, InterruptedException;

  /** True while the node's process runs (a paused one included). */
  boolean alive(int id);

  /** Starts a node that is not running, with its data as it was left. */
  void start(int id) throws IOException, InterruptedException;

  /** Ends the node at once (SIGKILL): no shutdown hook, no hand-over. */
  void kill(int id) throws IOException, InterruptedException;

  /** Freezes the node (SIGSTOP, or the cgroup freezer): it holds its sockets and says nothing. */
  void pause(int id) throws IOException, InterruptedException;

  void resume(int id) throws IOException, InterruptedException;

  /**
   * Cuts the node off the network entirely, its own address gone with it (a container leaving
   * its network). Only where the processes have a network of their own to leave.
   */
  default void disconnect(int id) throws IOException, InterruptedException {
    throw new UnsupportedOperationException("disconnect needs containers (--docker-compose)");
  }

  /** Undoes {@link #disconnect}; a node not cut off is left as it is. */
  default void reconnect(int id) throws IOException, InterruptedException {
    throw new UnsupportedOperationException("disconnect needs containers (--docker-compose)");
  }

  /** How {@link #kill} does it, for the fault log. */
  default String killVerb() {
    return "SIGKILL";
  }

  /** How {@link #pause} does it, for the fault log. */
  default String pauseVerb() {
    return "SIGSTOP";
  }

  /** Ends every fault this class injected itself that may still hold (pauses, disconnects). */
  default void healAll() throws IOException, InterruptedException {}

  /**
   * Whether the nodes take network and stall faults through their admin port ({@code /fault},
   * only on nodes started with {@code --enable-fault-injection}).
   */
  default boolean acceptsFaultRequests() {
    return true;
  }

  /** The node's data directory on this machine (the disk fault damages files there). */
  Path dataDir(int id);

  /** The node's log on this machine. */
  Path logFile(int id);

  /** Waits for the node's process to exit; its exit code, or -1 if it still runs. */
  int awaitExit(int id, Duration timeout) throws IOException, InterruptedException;

  @Override
  void close();
}
