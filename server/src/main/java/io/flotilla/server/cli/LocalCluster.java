package io.flotilla.server.cli;

import io.flotilla.client.Endpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * N nodes as separate JVM processes on 127.0.0.1, for {@code local}, {@code demo} and tests.
 * Node i (1-based) uses ports base+10(i-1) (client), +1 (peer), +2 (admin). Each node's output
 * goes to DATA/nodeI.log.
 */
final class LocalCluster implements AutoCloseable {
  private final int nodes;
  private final int basePort;
  private final Path dataDir;
  private final Process[] processes;
  private final List<String> serverArgs;

  LocalCluster(int nodes, int basePort, Path dataDir) {
    this(nodes, basePort, dataDir, List.of());
  }

  /** @param serverArgs extra {@code server} options for every node (say, snapshot thresholds) */
  LocalCluster(int nodes, int basePort, Path dataDir, List<String> serverArgs) {
    this.serverArgs = List.copyOf(serverArgs);
    this.nodes = nodes;
    this.basePort = basePort;
    this.dataDir = dataDir;
    this.processes = new Process[nodes + 1];
    Runtime.getRuntime().addShutdownHook(new Thread(this::killAll));
  }

  int nodes() {
    return nodes;
  }

  Endpoint client(int id) {
    return new Endpoint("127.0.0.1", basePort + 10 * (id - 1));
  }

  Endpoint peer(int id) {
    return new Endpoint("127.0.0.1", basePort + 10 * (id - 1) + 1);
  }

  Endpoint admin(int id) {
    return new Endpoint("127.0.0.1", basePort + 10 * (id - 1) + 2);
  }

  String clientEndpoints() {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      out.add(client(i).toString());
    }
    return String.join(",", out);
  }

  void startAll() throws IOException {
    for (int i = 1; i <= nodes; i++) {
      start(i);
    }
  }

  /** Starts node {@code id} (again, after a kill, on the same data directory). */
  void start(int id) throws IOException {
    List<String> members = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      members.add(i + "=" + peer(i) + "/" + client(i));
    }
    Path dir = dataDir.resolve("node" + id);
    Files.createDirectories(dir);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = List.of(java, "-Xmx512m", "-XX:+UseSerialGC",
        "-cp", System.getProperty("java.class.path"), FlotillaMain.class.getName(), "server",
        "--id", "" + id, "--data-dir", dir.toString(), "--client", client(id).toString(),
        "--peer", peer(id).toString(), "--admin", admin(id).toString(),
        "--members", String.join(",", members), "--tick-ms", "50");
    if (!serverArgs.isEmpty()) {
      cmd = new ArrayList<>(cmd);
      cmd.addAll(serverArgs);
    }
    Path log = dataDir.resolve("node" + id + ".log");
    processes[id] = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed; exactly a crash. */
  void kill(int id) throws InterruptedException {
    Process p = processes[id];
    if (p != null) {
      p.toHandle().destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      processes[id] = null;
    }
  }

  /** SIGTERM: the node shuts down gracefully (a leader hands over leadership first). */
  void terminate(int id) throws InterruptedException {
    Process p = processes[id];
    if (p != null) {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      processes[id] = null;
    }
  }

  Path logFile(int id) {
    return dataDir.resolve("node" + id + ".log");
  }

  boolean alive(int id) {
    return processes[id] != null && processes[id].isAlive();
  }

  /** SIGTERM to every node, then SIGKILL to any still running after 10 s. */
  void stopAll() {
    for (int i = 1; i <= nodes; i++) {
      if (processes[i] != null) {
        processes[i].destroy();
      }
    }
    for (int i = 1; i <= nodes; i++) {
      try {
        if (processes[i] != null && !processes[i].waitFor(10, TimeUnit.SECONDS)) {
          processes[i].destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      processes[i] = null;
    }
  }

  private void killAll() {
    for (Process p : processes) {
      if (p != null) {
        p.destroyForcibly();
      }
    }
  }

  @Override
  public void close() {
    stopAll();
  }
}
