package io.flotilla.server.node;

import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A static cluster of real nodes in one JVM (WAL with fsync, RocksDB, Netty on loopback), ids
 * 1..N, for tests that need the client protocol end to end. Nodes start only when asked, so a
 * test can also run a node whose peers are down.
 */
final class TestCluster implements AutoCloseable {
  private final Path dir;
  private final int size;
  private final Map<Long, NodeConfig.Member> members = new HashMap<>();
  private final Map<Long, int[]> ports = new HashMap<>();
  private final FlotillaNode[] nodes;
  private final UnaryOperator<NodeConfig> configure;

  /** @param configure applied to every node's configuration (say, lease reads on) */
  TestCluster(Path dir, int size, UnaryOperator<NodeConfig> configure) {
    this.dir = dir;
    this.size = size;
    this.configure = configure;
    this.nodes = new FlotillaNode[size + 1];
    for (long id = 1; id <= size; id++) {
      int[] p = {TestPorts.freePort(), TestPorts.freePort(), TestPorts.freePort()};
      ports.put(id, p);
      members.put(id, new NodeConfig.Member(new Endpoint("localhost", p[1]),
          new Endpoint("127.0.0.1", p[0])));
    }
  }

  TestCluster(Path dir, int size) {
    this(dir, size, c -> c);
  }

  FlotillaNode start(long id) throws Exception {
    int[] p = ports.get(id);
    NodeConfig config = new NodeConfig(id, dir.resolve("n" + id), new Endpoint("127.0.0.1", p[0]),
        new Endpoint("127.0.0.1", p[1]), new Endpoint("127.0.0.1", p[2]), members, 50,
        NodeConfig.DEFAULT_SNAPSHOT_ENTRIES, 0);
    nodes[(int) id] = FlotillaNode.start(configure.apply(config));
    return nodes[(int) id];
  }

  TestCluster startAll() throws Exception {
    for (long id = 1; id <= size; id++) {
      start(id);
    }
    return this;
  }

  FlotillaNode node(long id) {
    return nodes[(int) id];
  }

  void stop(long id) throws Exception {
    FlotillaNode n = nodes[(int) id];
    nodes[(int) id] = null;
    if (n != null) {
      n.close();
    }
  }

  /** Takes node {@code id} out of the cluster's hands: the caller stops it (say, gracefully). */
  FlotillaNode detach(long id) {
    FlotillaNode n = nodes[(int) id];
    nodes[(int) id] = null;
    return n;
  }

  InetSocketAddress clientAddress(long id) {
    return new InetSocketAddress("127.0.0.1", ports.get(id)[0]);
  }

  String endpoints() {
    List<String> out = new ArrayList<>();
    for (long id = 1; id <= size; id++) {
      out.add("127.0.0.1:" + ports.get(id)[0]);
    }
    return String.join(",", out);
  }

  FlotillaClient client() {
    return new FlotillaClient(ClientOptions.of(endpoints()).withRequestTimeout(Duration.ofSeconds(20)));
  }

  private final Map<Long, FlotillaClient> nodeClients = new HashMap<>();

  /** A client of node {@code id} alone (closed with the cluster). */
  synchronized FlotillaClient client(long id) {
    return nodeClients.computeIfAbsent(id, n -> new FlotillaClient(ClientOptions.of("127.0.0.1:" + ports.get(n)[0])
        .withRequestTimeout(Duration.ofSeconds(20))));
  }

  /** The distinct digests of range {@code rangeId} on the running nodes that hold it. */
  java.util.Set<String> rangeDigests(long rangeId) {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (long id = 1; id <= size; id++) {
      FlotillaNode n = nodes[(int) id];
      if (n != null) {
        out.add(n.rangeDigest(rangeId));
      }
    }
    return out;
  }

  /** Requests forwarded to a range's leader elsewhere, summed over the running nodes. */
  long forwardedRequests() {
    long sum = 0;
    for (long id = 1; id <= size; id++) {
      if (nodes[(int) id] != null) {
        sum += nodes[(int) id].forwardedRequests();
      }
    }
    return sum;
  }

  /** The id of the running node that leads, once there is one. */
  long awaitLeader() {
    return await().atMost(Duration.ofSeconds(20)).until(() -> {
      for (long id = 1; id <= size; id++) {
        if (nodes[(int) id] != null && nodes[(int) id].isLeader()) {
          return id;
        }
      }
      return 0L;
    }, id -> id > 0);
  }

  @Override
  public void close() throws Exception {
    synchronized (this) {
      nodeClients.values().forEach(FlotillaClient::close);
      nodeClients.clear();
    }
    for (long id = 1; id <= size; id++) {
      stop(id);
    }
  }
}
