package io.flotilla.chaos;

import io.flotilla.client.Endpoint;
import io.flotilla.server.local.LocalCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** Nodes as separate JVMs on this machine: the server's {@link LocalCluster}, as it is. */
final class LocalProcesses implements NodeProcesses {
  private final LocalCluster cluster;

  LocalProcesses(LocalCluster cluster) {
    this.cluster = cluster;
  }

  @Override
  public int nodes() {
    return cluster.nodes();
  }

  @Override
  public String clientEndpoints() {
    return cluster.clientEndpoints();
  }

  @Override
  public Endpoint admin(int id) {
    return cluster.admin(id);
  }

  @Override
  public void startAll() throws IOException, InterruptedException {
    cluster.startAll();
  }

  @Override
  public boolean alive(int id) {
    return cluster.alive(id);
  }

  @Override
  public void start(int id) throws IOException {
    cluster.start(id);
  }

  @Override
  public void kill(int id) throws InterruptedException {
    cluster.kill(id);
  }

  @Override
  public void pause(int id) throws IOException, InterruptedException {
    cluster.pause(id);
  }

  @Override
  public void resume(int id) throws IOException, InterruptedException {
    cluster.resume(id);
  }

  @Override
  public Path dataDir(int id) {
    return cluster.dataDir(id);
  }

  @Override
  public Path logFile(int id) {
    return cluster.logFile(id);
  }

  @Override
  public int awaitExit(int id, Duration timeout) throws InterruptedException {
    return cluster.awaitExit(id, timeout);
  }

  @Override
  public void close() {
    cluster.close();
  }
}
