package io.flotilla.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.client.Endpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Nodes as the containers of a compose file (deploy/docker-compose.yml): services {@code node1} ..
 * {@code nodeN}, each listening on 7000 (client) and 7002 (admin) inside its container and
 * publishing both to this machine. The run brings the file up as its own compose project (so it
 * starts empty and nothing else is touched), and takes it down with its volumes at the end, after
 * saving each container's log to the run's {@code cluster/} directory.
 *
 * <p>Faults are Docker's own: {@code docker kill} (SIGKILL; Docker counts it as a stop by hand, so
 * the restart policy leaves the container down until {@link #start}), {@code docker pause} (the
 * cgroup freezer: the published port still accepts connections, nothing answers), and
 * {@code docker network disconnect} (the container leaves its network: its name stops resolving,
 * its address is gone, and it may come back at another one).
 */
final class ComposeProcesses implements NodeProcesses {
  /** The ports the compose file's services listen on inside their containers. */
  static final int CLIENT_PORT = 7000;
  static final int ADMIN_PORT = 7002;
  private static final ObjectMapper JSON = new ObjectMapper();
  /** How long {@link #alive} trusts what Docker last said (the nemesis asks very often). */
  private static final long ALIVE_CACHE_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

  private final Path file;
  private final String project;
  private final int nodes;
  private final Path logDir;
  private final String[] containers;
  private final Endpoint[] clients;
  private final Endpoint[] admins;
  private final String[] networks;
  private final List<List<String>> aliases = new ArrayList<>();
  private final long[] aliveCheckedAt;
  private final boolean[] aliveSeen;
  private final Set<Integer> disconnected = ConcurrentHashMap.newKeySet();
  private final Set<Integer> paused = ConcurrentHashMap.newKeySet();
  private volatile boolean up;

  /**
   * @param file    the compose file
   * @param project the compose project to create (it must not exist yet)
   * @param logDir  where each container's log is saved at the end, as {@code nodeN.log}
   */
  ComposeProcesses(Path file, String project, int nodes, Path logDir) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no compose file at " + file);
    }
    this.file = file;
    this.project = project;
    this.nodes = nodes;
    this.logDir = logDir;
    this.containers = new String[nodes + 1];
    this.clients = new Endpoint[nodes + 1];
    this.admins = new Endpoint[nodes + 1];
    this.networks = new String[nodes + 1];
    this.aliveCheckedAt = new long[nodes + 1];
    this.aliveSeen = new boolean[nodes + 1];
  }

  @Override
  public int nodes() {
    return nodes;
  }

  @Override
  public String clientEndpoints() {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      out.add(clients[i].toString());
    }
    return String.join(",", out);
  }

  @Override
  public Endpoint admin(int id) {
    return admins[id];
  }

  private List<String> compose(String... args) {
    List<String> cmd = new ArrayList<>(List.of("docker-compose", "-p", project, "-f", file.toString()));
    if (nodes > 3) {
      cmd.addAll(List.of("--profile", "grow")); // node4 and node5 (deploy/docker-compose.yml)
    }
    cmd.addAll(Arrays.asList(args));
    return cmd;
  }

  @Override
  public void startAll() throws IOException, InterruptedException {
    if (!run(compose("ps", "-q")).isBlank()) {
      throw new IllegalStateException("compose project " + project + " already has containers:"
          + " take it down first (docker-compose -p " + project + " -f " + file + " down -v)");
    }
    List<String> services = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      services.add("node" + i);
    }
    List<String> upCmd = compose("up", "-d");
    upCmd.addAll(services);
    up = true;
    run(upCmd, Duration.ofMinutes(5));
    for (int i = 1; i <= nodes; i++) {
      String id = run(compose("ps", "-q", "node" + i)).strip();
      if (id.isEmpty()) {
        throw new IOException("service node" + i + " has no container in " + file);
      }
      containers[i] = id;
      clients[i] = published(id, CLIENT_PORT);
      admins[i] = published(id, ADMIN_PORT);
      JsonNode nets = JSON.readTree(run(List.of("docker", "inspect", "-f",
          "{{json .NetworkSettings.Networks}}", id)));
      if (nets.size() != 1) {
        throw new IOException("node" + i + " is on " + nets.size() + " networks; the disconnect"
            + " fault expects exactly one");
      }
      networks[i] = nets.fieldNames().next();
      List<String> a = new ArrayList<>();
      nets.get(networks[i]).path("Aliases").forEach(x -> a.add(x.asText()));
      aliases.add(a);
    }
  }

  /** Where this machine reaches a container's port (127.0.0.1 when published on all addresses). */
  private Endpoint published(String container, int port) throws IOException, InterruptedException {
    String out = run(List.of("docker", "port", container, port + "/tcp")).strip();
    if (out.isEmpty()) {
      throw new IOException("container " + container + " does not publish port " + port);
    }
    Endpoint e = Endpoint.parse(out.lines().findFirst().orElseThrow());
    return e.host().equals("0.0.0.0") || e.host().equals("::") ? new Endpoint("127.0.0.1", e.port()) : e;
  }

  @Override
  public boolean alive(int id) {
    synchronized (aliveSeen) {
      long now = System.nanoTime();
      if (aliveCheckedAt[id] == 0 || now - aliveCheckedAt[id] > ALIVE_CACHE_NANOS) {
        try {
          aliveSeen[id] = run(List.of("docker", "inspect", "-f", "{{.State.Running}}",
              containers[id])).strip().equals("true");
        } catch (IOException e) {
          aliveSeen[id] = false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return aliveSeen[id];
        }
        aliveCheckedAt[id] = now;
      }
      return aliveSeen[id];
    }
  }

  private void forget(int id) {
    synchronized (aliveSeen) {
      aliveCheckedAt[id] = 0;
    }
  }

  @Override
  public void start(int id) throws IOException, InterruptedException {
    run(List.of("docker", "start", containers[id]));
    forget(id);
  }

  @Override
  public void kill(int id) throws IOException, InterruptedException {
    run(List.of("docker", "kill", containers[id]));
    paused.remove(id); // Docker ends a paused container too
    forget(id);
  }

  @Override
  public void pause(int id) throws IOException, InterruptedException {
    run(List.of("docker", "pause", containers[id]));
    paused.add(id);
  }

  @Override
  public void resume(int id) throws IOException, InterruptedException {
    if (paused.remove(id)) {
      run(List.of("docker", "unpause", containers[id]));
    }
  }

  @Override
  public void disconnect(int id) throws IOException, InterruptedException {
    run(List.of("docker", "network", "disconnect", networks[id], containers[id]));
    disconnected.add(id);
  }

  @Override
  public void reconnect(int id) throws IOException, InterruptedException {
    if (!disconnected.contains(id)) {
      return;
    }
    // The service name is an alias on the network: without it the others could not find the
    // node by name again.
    List<String> cmd = new ArrayList<>(List.of("docker", "network", "connect"));
    for (String a : aliases.get(id - 1)) {
      cmd.addAll(List.of("--alias", a));
    }
    cmd.addAll(List.of(networks[id], containers[id]));
    run(cmd);
    disconnected.remove(id);
  }

  @Override
  public void healAll() throws IOException, InterruptedException {
    for (int i = 1; i <= nodes; i++) {
      reconnect(i);
      resume(i);
    }
  }

  @Override
  public String killVerb() {
    return "docker kill";
  }

  @Override
  public String pauseVerb() {
    return "docker pause";
  }

  @Override
  public boolean acceptsFaultRequests() {
    return false; // the compose file's nodes run without --enable-fault-injection
  }

  @Override
  public Path dataDir(int id) {
    throw new UnsupportedOperationException("the disk fault needs local processes: a container's"
        + " data lives in its volume");
  }

  @Override
  public Path logFile(int id) {
    return logDir.resolve("node" + id + ".log");
  }

  @Override
  public int awaitExit(int id, Duration timeout) {
    throw new UnsupportedOperationException("only the disk fault awaits an exit; it needs local processes");
  }

  /** Saves every container's log, then takes the project down with its network and volumes. */
  @Override
  public void close() {
    if (!up) {
      return;
    }
    try {
      Files.createDirectories(logDir);
      for (int i = 1; i <= nodes; i++) {
        if (containers[i] != null) {
          Files.writeString(logFile(i), run(List.of("docker", "logs", containers[i])));
        }
      }
    } catch (IOException e) {
      System.err.println("could not save the containers' logs: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      run(compose("down", "-v", "--remove-orphans"), Duration.ofMinutes(3));
    } catch (IOException e) {
      System.err.println("could not take compose project " + project + " down: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    return run(cmd, Duration.ofSeconds(60));
  }

  /** Runs a docker command; its output (stdout and stderr), or an IOException naming it. */
  private static String run(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
    // Output to a file, not a pipe: a pipe read would block past the timeout on a hung command.
    Path out = Files.createTempFile("flotilla-docker", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + ": no exit within " + timeout.toSeconds() + " s");
      }
      String text = Files.readString(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + text.strip());
      }
      return text;
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
