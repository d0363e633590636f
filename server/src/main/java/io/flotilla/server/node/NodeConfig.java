package io.flotilla.server.node;

import io.flotilla.client.Endpoint;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * One node's configuration.
 *
 * @param id          this node's id (positive, one of {@code members})
 * @param dataDir     holds {@code raft/} (the write-ahead log and hard state) and {@code state/}
 *                    (the RocksDB state machine)
 * @param clientBind  where the client port listens (port 0: any)
 * @param peerBind    where the peer port listens
 * @param adminBind   where the admin HTTP port listens
 * @param members     every member, this one included: its peer address (for Raft traffic) and
 *                    client address (for NOT_LEADER hints)
 * @param tickMillis  one Raft tick; election timeout is 10-20 ticks, heartbeats every tick
 * @param snapshotEntries snapshot the state (and compact the log) every this many applied
 *                    entries; 0 = not by count
 * @param snapshotBytes   ... or every this many applied payload bytes; 0 = not by size
 * @param faultInjection  the admin port accepts {@code POST /fault} (network faults for chaos
 *                    runs and tests); never on in production
 * @param leaseReads  the leader serves LINEARIZABLE reads under its lease, without a heartbeat
 *                    round (see docs/raft.md for the clock assumption); off by default
 * @param netThreads  Netty event-loop threads for the client port (1 to 64). One is the
 *                    default: besides it the node runs its Raft loop (which writes the log too),
 *                    and on a small machine every extra thread that a message crosses is another
 *                    wake-up (docs/benchmarks.md, "Threads and wake-ups"). The peer port and
 *                    the admin port have a thread each, apart from client load.
 * @param net         connection limits of the client port: connections, input budget, frame and
 *                    idle timeouts ({@link NetLimits})
 * @param quiesce     idle ranges quiesce: an idle range's leader stops heartbeating and its
 *                    followers stop their election timers until a proposal, read or message
 *                    wakes them (docs/raft.md, "Quiescence"); off by default
 * @param splits      when a range's leader splits it by itself: by size, by load ({@link SplitPolicy})
 * @param tls         the node's certificate, key and cluster CA (a TLS directory, docs/security.md):
 *                    TLS on every port, mutual TLS between nodes; null: plain text
 */
public record NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
    Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
    long snapshotBytes, boolean faultInjection, boolean leaseReads, int netThreads,
    NetLimits net, boolean quiesce, SplitPolicy splits, io.flotilla.client.tls.TlsFiles tls) {

  /** In plain text. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes, boolean faultInjection, boolean leaseReads, int netThreads,
      NetLimits net, boolean quiesce, SplitPolicy splits) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, faultInjection, leaseReads, netThreads, net, quiesce, splits, null);
  }

  /** With the default split policy. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes, boolean faultInjection, boolean leaseReads, int netThreads,
      NetLimits net, boolean quiesce) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, faultInjection, leaseReads, netThreads, net, quiesce, SplitPolicy.DEFAULT);
  }

  /** Without quiescence. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes, boolean faultInjection, boolean leaseReads, int netThreads,
      NetLimits net) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, faultInjection, leaseReads, netThreads, net, false, SplitPolicy.DEFAULT);
  }

  public static final int DEFAULT_NET_THREADS = 1;
  public static final int MAX_NET_THREADS = 64;

  /** With the default connection limits. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes, boolean faultInjection, boolean leaseReads, int netThreads) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, faultInjection, leaseReads, netThreads, NetLimits.DEFAULT);
  }

  /** With the default number of network threads. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes, boolean faultInjection, boolean leaseReads) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, faultInjection, leaseReads, DEFAULT_NET_THREADS);
  }

  /**
   * How many ticks shorter than the election timeout (10 ticks) a lease is: a follower's clock may
   * run up to 9/8 of the leader's (one tick goes to the follower timer's granularity; docs/raft.md).
   */
  public static final int LEASE_DRIFT_TICKS = 2;

  /** Without lease reads. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes, boolean faultInjection) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, faultInjection, false);
  }

  /** Without fault injection. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis, long snapshotEntries,
      long snapshotBytes) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis, snapshotEntries,
        snapshotBytes, false);
  }

  public static final long DEFAULT_SNAPSHOT_ENTRIES = 100_000;
  public static final long DEFAULT_SNAPSHOT_BYTES = 64L << 20;

  /** With the default snapshot thresholds. */
  public NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
      Endpoint adminBind, Map<Long, Member> members, long tickMillis) {
    this(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        DEFAULT_SNAPSHOT_ENTRIES, DEFAULT_SNAPSHOT_BYTES);
  }

  /** The same node with other snapshot thresholds. */
  public NodeConfig withSnapshots(long entries, long bytes) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        entries, bytes, faultInjection, leaseReads, netThreads, net, quiesce, splits, tls);
  }

  /** The same node with fault injection on or off. */
  public NodeConfig withFaultInjection(boolean on) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, on, leaseReads, netThreads, net, quiesce, splits, tls);
  }

  /** The same node with lease reads on or off. */
  public NodeConfig withLeaseReads(boolean on) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, faultInjection, on, netThreads, net, quiesce, splits, tls);
  }

  /** The same node with another number of network threads. */
  public NodeConfig withNetThreads(int threads) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, faultInjection, leaseReads, threads, net, quiesce, splits, tls);
  }

  /** The same node with other client connection limits. */
  public NodeConfig withNet(NetLimits limits) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, faultInjection, leaseReads, netThreads, limits, quiesce, splits, tls);
  }

  /** The same node with quiescence of idle ranges on or off. */
  public NodeConfig withQuiesce(boolean on) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, faultInjection, leaseReads, netThreads, net, on, splits, tls);
  }

  /** The same node with another split policy. */
  public NodeConfig withSplits(SplitPolicy policy) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, faultInjection, leaseReads, netThreads, net, quiesce, policy, tls);
  }

  /** The same node over TLS with the files {@code files} (null: plain text). */
  public NodeConfig withTls(io.flotilla.client.tls.TlsFiles files) {
    return new NodeConfig(id, dataDir, clientBind, peerBind, adminBind, members, tickMillis,
        snapshotEntries, snapshotBytes, faultInjection, leaseReads, netThreads, net, quiesce, splits, files);
  }

  /** A member's addresses, by host name. */
  public record Member(Endpoint peer, Endpoint client) {}

  public NodeConfig {
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(net, "net");
    Objects.requireNonNull(splits, "splits");
    members = Map.copyOf(members);
    if (id <= 0 || !members.containsKey(id)) {
      throw new IllegalArgumentException("node id " + id + " must be one of the members "
          + members.keySet());
    }
    if (tickMillis <= 0) {
      throw new IllegalArgumentException("tickMillis must be positive");
    }
    if (snapshotEntries < 0 || snapshotBytes < 0) {
      throw new IllegalArgumentException("snapshot thresholds must be >= 0");
    }
    if (netThreads < 1 || netThreads > MAX_NET_THREADS) {
      throw new IllegalArgumentException(
          "net threads must be 1 to " + MAX_NET_THREADS + ", got " + netThreads);
    }
  }
}
