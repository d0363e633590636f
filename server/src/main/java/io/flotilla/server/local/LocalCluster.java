package io.flotilla.server.local;

import io.flotilla.client.Endpoint;
import io.flotilla.server.ServerMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * N nodes as separate JVM processes on 127.0.0.1, for {@code local}, {@code demo},
 * {@code bench --local}, {@code chaos} and tests. Each runs {@link ServerMain} on this JVM's class
 * path. Node i (1-based) uses ports base+10(i-1) (client), +1 (peer), +2 (admin). Each node's
 * output goes to DATA/nodeI.log.
 */
public final class LocalCluster implements AutoCloseable {
  private final int nodes;
  private final int basePort;
  private final Path dataDir;
  private final Process[] processes;
  private final List<String> serverArgs;
  private final List<String> jvmArgs;
  /** Size of each node's log when it was last started: its lines since then are this run's. */
  private final long[] logOffset;
  private boolean clientAddressesInMembers = true;
  /** Where node i's TLS directory is, ROOT/node-i; null: plain text. */
  private Path tlsRoot;
  /** The dashboard's kill and restart, for the nodes this cluster starts; null: off. */
  private LocalControlServer control;

  public LocalCluster(int nodes, int basePort, Path dataDir) {
    this(nodes, basePort, dataDir, List.of());
  }

  /** @param serverArgs extra {@code server} options for every node (say, snapshot thresholds) */
  public LocalCluster(int nodes, int basePort, Path dataDir, List<String> serverArgs) {
    this(nodes, basePort, dataDir, serverArgs, List.of());
  }

  /**
   * @param jvmArgs extra JVM options for every node, after the defaults (a chaos run restarts
   *                nodes hundreds of times and trades peak speed for quick starts)
   */
  public LocalCluster(int nodes, int basePort, Path dataDir, List<String> serverArgs,
      List<String> jvmArgs) {
    this.jvmArgs = List.copyOf(jvmArgs);
    this.serverArgs = List.copyOf(serverArgs);
    this.nodes = nodes;
    this.basePort = basePort;
    this.dataDir = dataDir;
    this.processes = new Process[nodes + 1];
    this.logOffset = new long[nodes + 1];
    Runtime.getRuntime().addShutdownHook(new Thread(this::killAll));
  }

  public int nodes() {
    return nodes;
  }

  public Endpoint client(int id) {
    return new Endpoint("127.0.0.1", basePort + 10 * (id - 1));
  }

  public Endpoint peer(int id) {
    return new Endpoint("127.0.0.1", basePort + 10 * (id - 1) + 1);
  }

  public Endpoint admin(int id) {
    return new Endpoint("127.0.0.1", basePort + 10 * (id - 1) + 2);
  }

  public String clientEndpoints() {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      out.add(client(i).toString());
    }
    return String.join(",", out);
  }

  /**
   * Leaves the client addresses out of {@code --members} (they are optional there): nodes then
   * know only where their peers' Raft ports are. Call before starting nodes.
   */
  public LocalCluster withoutClientAddressesInMembers() {
    clientAddressesInMembers = false;
    return this;
  }

  /**
   * Turns on the kill and restart buttons of the nodes' dashboards ({@code local} and {@code demo}
   * only): this process serves them on loopback ({@link LocalControlServer}) and tells each node it
   * starts where. Call before starting nodes.
   */
  public LocalCluster withDashboardControl() throws IOException {
    if (control == null) {
      control = LocalControlServer.start(this);
    }
    return this;
  }

  /**
   * Runs every node with TLS, node i with the TLS directory {@code root/node-i} (as
   * {@code bin/flotilla certs node --out} writes it). Call before starting nodes.
   */
  public LocalCluster withTls(Path root) {
    this.tlsRoot = root;
    return this;
  }

  /** The nodes' TLS directories' parent, or null in plain text. */
  public Path tlsRoot() {
    return tlsRoot;
  }

  /** The dashboard of node {@code id}: {@code http(s)://127.0.0.1:ADMIN/}. */
  public String dashboardUrl(int id) {
    return (tlsRoot != null ? "https" : "http") + "://" + admin(id) + "/";
  }

  /**
   * Starts every node and waits until each one is serving. A node that exits instead (say, its
   * port is taken) stops the whole cluster and fails this call with that node's own error, so a
   * caller never reports endpoints of a cluster that is not there.
   */
  public void startAll() throws IOException, InterruptedException {
    for (int i = 1; i <= nodes; i++) {
      start(i);
    }
    try {
      for (int i = 1; i <= nodes; i++) {
        awaitStarted(i, java.time.Duration.ofSeconds(60));
      }
    } catch (IOException | RuntimeException e) {
      stopAll();
      throw e;
    }
  }

  /**
   * Waits until node {@code id} says it is serving (its "serving clients at" line). Fails with a
   * {@link NodeFailedToStart} carrying the node's error if the process exits first or the wait
   * times out.
   */
  public void awaitStarted(int id, java.time.Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String marker = "node " + id + " serving clients at ";
    while (true) {
      Process p = processes[id];
      String since = logSinceStart(id);
      if (since.contains(marker)) {
        return;
      }
      if (p == null || !p.isAlive()) {
        processes[id] = null;
        throw new NodeFailedToStart(id, (p == null ? "was not started" : "exited with code "
            + p.exitValue()) + ": " + firstError(since) + " (log: " + logFile(id) + ")");
      }
      if (System.nanoTime() > deadline) {
        throw new NodeFailedToStart(id, "not serving after " + timeout.toSeconds() + " s: "
            + firstError(since) + " (log: " + logFile(id) + ")");
      }
      // Another process's output, with no event to wait on: look again shortly.
      p.waitFor(50, TimeUnit.MILLISECONDS);
    }
  }

  /** A node of this cluster did not come up. */
  public static final class NodeFailedToStart extends IOException {
    private static final long serialVersionUID = 1L;
    private final int node;

    NodeFailedToStart(int node, String message) {
      super("node " + node + " failed to start: " + message);
      this.node = node;
    }

    public int node() {
      return node;
    }
  }

  private String logSinceStart(int id) throws IOException {
    Path log = logFile(id);
    if (!Files.exists(log)) {
      return "";
    }
    byte[] all = Files.readAllBytes(log);
    int from = (int) Math.min(all.length, logOffset[id]);
    return new String(all, from, all.length - from, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** The most telling line of a failed start: the first exception or error, else the last line. */
  private static String firstError(String log) {
    String last = "(no output)";
    for (String line : log.split("\\R")) {
      String t = line.strip();
      if (t.isEmpty()) {
        continue;
      }
      if (t.contains("Exception") || t.contains("Error") || t.startsWith("error") || t.contains(" ERROR ")) {
        return t;
      }
      last = t;
    }
    return last;
  }

  /** Starts node {@code id} (again, after a kill, on the same data directory). */
  public synchronized void start(int id) throws IOException {
    List<String> members = new ArrayList<>();
    for (int i = 1; i <= nodes; i++) {
      members.add(i + "=" + peer(i) + (clientAddressesInMembers ? "/" + client(i) : ""));
    }
    Path dir = dataDir.resolve("node" + id);
    Files.createDirectories(dir);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:+UseSerialGC"));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of(
        "-cp", System.getProperty("java.class.path"), ServerMain.class.getName(),
        "--id", "" + id, "--data-dir", dir.toString(), "--client", client(id).toString(),
        "--peer", peer(id).toString(), "--admin", admin(id).toString(),
        "--members", String.join(",", members), "--tick-ms", "50"));
    cmd.addAll(serverArgs);
    if (tlsRoot != null) {
      cmd.addAll(List.of("--tls-dir", tlsRoot.resolve("node-" + id).toString()));
    }
    if (control != null) {
      cmd.addAll(List.of("--local-control", control.url().toString()));
    }
    Path log = dataDir.resolve("node" + id + ".log");
    logOffset[id] = Files.exists(log) ? Files.size(log) : 0;
    processes[id] = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed; exactly a crash. */
  public synchronized void kill(int id) throws InterruptedException {
    Process p = processes[id];
    if (p != null) {
      p.toHandle().destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      processes[id] = null;
    }
  }

  /** SIGTERM: the node shuts down gracefully (a leader hands over leadership first). */
  public void terminate(int id) throws InterruptedException {
    Process p = processes[id];
    if (p != null) {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
      processes[id] = null;
    }
  }

  /** SIGSTOP: the process freezes with its sockets open, as under a long GC pause or a hung VM. */
  public void pause(int id) throws IOException, InterruptedException {
    signal(id, "STOP");
  }

  /** SIGCONT after {@link #pause}. */
  public void resume(int id) throws IOException, InterruptedException {
    signal(id, "CONT");
  }

  private void signal(int id, String signal) throws IOException, InterruptedException {
    Process p = processes[id];
    if (p == null || !p.isAlive()) {
      throw new IllegalStateException("node " + id + " is not running");
    }
    // The JDK sends only SIGTERM and SIGKILL; kill(1) is on every machine this runs on.
    Process k = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid()))
        .redirectErrorStream(true).start();
    if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
      throw new IOException("kill -" + signal + " " + p.pid() + " failed");
    }
  }

  /**
   * Waits up to {@code timeout} for node {@code id} to exit on its own (say, refusing to start);
   * returns its exit code, or -1 if it is still running.
   */
  public int awaitExit(int id, java.time.Duration timeout) throws InterruptedException {
    Process p = processes[id];
    if (p == null) {
      throw new IllegalStateException("node " + id + " was not started");
    }
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      return -1;
    }
    processes[id] = null;
    return p.exitValue();
  }

  /** Node {@code id}'s data directory (holds raft/ and state/). */
  public Path dataDir(int id) {
    return dataDir.resolve("node" + id);
  }

  public Path logFile(int id) {
    return dataDir.resolve("node" + id + ".log");
  }

  public synchronized boolean alive(int id) {
    return processes[id] != null && processes[id].isAlive();
  }

  /** SIGTERM to every node, then SIGKILL to any still running after 10 s. */
  public void stopAll() {
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
    if (control != null) {
      control.close();
    }
  }
}
