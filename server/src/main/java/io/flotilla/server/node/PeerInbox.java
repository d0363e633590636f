package io.flotilla.server.node;

import io.flotilla.client.wire.Frames;
import io.flotilla.raft.DropReason;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageValidator;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.raft.node.SnapshotChunker.Assembler;
import io.flotilla.raft.node.SnapshotChunker.SnapshotChunk;
import io.flotilla.server.proto.PeerFrame;
import io.flotilla.server.store.Replica;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.SocketAddress;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer port's inbound path: decode the {@link PeerFrames envelope} and its body, count the
 * bytes against the sender, route by group id to this node's replica of that group, validate,
 * reassemble snapshot chunks, deliver to the replica's Raft node. Nothing a peer sends is trusted:
 * an invalid frame is dropped, counted ({@code flotilla_peer_dropped_total{reason}},
 * docs/metrics.md) and logged with the remote address at a bounded rate, and the node carries on.
 * A frame for a group this node holds no replica of is dropped as {@link DropReason#MISROUTED}.
 * Stateless checks run here on the network thread, so junk never queues for a Raft loop; checks
 * against a replica's state (is the sender a member, is a claimed match within the log) run in
 * its core, which hands the reason back on its loop. Thread-safe.
 */
final class PeerInbox {
  private static final Logger LOG = LoggerFactory.getLogger(PeerInbox.class);
  /** A partial snapshot that has received nothing for this long was abandoned by its sender. */
  private static final long ABANDON_AFTER_NANOS = TimeUnit.SECONDS.toNanos(30);
  /** The sender of a frame whose body did not decode: its bytes count under peer="other". */
  private static final long UNKNOWN_SENDER = -1;

  private final long self;
  private final Replicas replicas;

  /** Where a frame for a group goes. */
  interface Replicas {
    /**
     * This node's replica of {@code groupId}, or null when it holds none. {@code fromLeader}: the
     * frame is a leader's (entries, heartbeat, snapshot) from node {@code from}, which may make a
     * placeholder for a range this node has not received yet (Store#replicaOrPlaceholder).
     */
    Replica replica(long groupId, long from, boolean fromLeader);
  }
  private final PeerTraffic traffic;
  /** Node-wide: all partial snapshots together stay within one budget, whatever groups they are for. */
  private final Assembler assembler;
  private final Map<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
  private final RateLimitedLog logLimit = new RateLimitedLog(20, TimeUnit.SECONDS.toNanos(1), System::nanoTime);
  /** Set once the replicas are built (the transport starts first); frames before that are ignored. */
  private volatile boolean open;

  /**
   * @param replicas            this node's replica of a group id, or null when it holds none
   * @param snapshotBudgetBytes bytes of partial snapshots held at once, node-wide
   */
  PeerInbox(long self, Replicas replicas, long snapshotBudgetBytes, PeerTraffic traffic,
      MeterRegistry registry) {
    this.self = self;
    this.replicas = replicas;
    this.traffic = traffic;
    this.assembler = new Assembler(snapshotBudgetBytes, ABANDON_AFTER_NANOS, System::nanoTime);
    for (DropReason r : DropReason.values()) {
      dropped.put(r, Counter.builder("flotilla.peer.dropped").tag("reason", r.tag())
          .description("peer frames dropped as invalid, by reason").register(registry));
    }
  }

  /** From now on frames are routed to the replicas. */
  void open() {
    this.open = true;
  }

  /** On a network thread: one frame from the plain-text peer connection at {@code remote}. */
  void accept(byte[] frame, SocketAddress remote) {
    accept(frame, remote, 0);
  }

  /**
   * As above from a connection whose TLS certificate names node {@code certified} (0: plain
   * text): a frame claiming any other sender throws {@link io.flotilla.server.net.PeerIdentityMismatch}
   * and is not delivered (the transport then refuses the connection).
   */
  void accept(byte[] frame, SocketAddress remote, long certified) {
    int bytes = frame.length + Frames.LENGTH_BYTES;
    PeerFrame envelope;
    try {
      envelope = PeerFrames.decode(frame);
    } catch (Exception e) { // InvalidProtocolBufferException
      traffic.received(UNKNOWN_SENDER, bytes);
      undecodable(remote, "frame of " + frame.length + " bytes: " + e.getMessage());
      return;
    }
    switch (envelope.getBodyCase()) {
      case RAFT_MESSAGE -> {
        Message m;
        try {
          m = PeerFrames.message(envelope.getRaftMessage());
        } catch (Exception e) { // bad protobuf, or a value no message record accepts
          traffic.received(UNKNOWN_SENDER, bytes);
          undecodable(remote, "Raft message of " + frame.length + " bytes: " + e.getMessage());
          return;
        }
        requireCertified(certified, m.from());
        traffic.received(m.from(), bytes);
        boolean fromLeader = m instanceof Message.AppendEntries || m instanceof Message.Heartbeat
            || m instanceof Message.InstallSnapshot;
        Replica replica = route(envelope.getGroupId(), m.from(), fromLeader, remote, describe(m));
        if (replica != null) {
          deliver(replica, m, remote);
        }
      }
      case SNAPSHOT_CHUNK -> {
        SnapshotChunk chunk;
        try {
          chunk = PeerFrames.chunk(envelope.getSnapshotChunk());
        } catch (Exception e) {
          traffic.received(UNKNOWN_SENDER, bytes);
          undecodable(remote, "snapshot chunk frame of " + frame.length + " bytes: " + e.getMessage());
          return;
        }
        requireCertified(certified, chunk.from());
        traffic.received(chunk.from(), bytes);
        String what = "snapshot chunk from " + chunk.from() + " term " + chunk.term() + " at " + chunk.offset();
        Replica replica = route(envelope.getGroupId(), chunk.from(), true, remote, what);
        if (replica != null) {
          acceptChunk(replica, chunk, remote, what);
        }
      }
      default -> { // BODY_NOT_SET: no body, or only one this node does not know
        traffic.received(UNKNOWN_SENDER, bytes);
        undecodable(remote, "frame of " + frame.length + " bytes without a known body");
      }
    }
  }

  private static void requireCertified(long certified, long from) {
    if (certified != 0 && from != certified) {
      throw new io.flotilla.server.net.PeerIdentityMismatch(certified, from);
    }
  }

  /** This node's replica of {@code groupId}; null (dropped, or still starting) when there is none. */
  private Replica route(long groupId, long from, boolean fromLeader, SocketAddress remote, String what) {
    if (!open) {
      return null; // still starting: as if lost in transit
    }
    Replica replica = replicas.replica(groupId, from, fromLeader);
    if (replica == null) {
      drop(DropReason.MISROUTED, remote, what + " for group " + groupId + ", which this node holds no replica of");
    }
    return replica;
  }

  private void deliver(Replica replica, Message m, SocketAddress remote) {
    Optional<DropReason> invalid = MessageValidator.validate(m, replica.groupId(), self);
    if (invalid.isPresent()) {
      drop(invalid.get(), remote, describe(m));
      return;
    }
    replica.raft().deliver(m, reason -> drop(reason, remote, describe(m)));
  }

  private void acceptChunk(Replica replica, SnapshotChunk chunk, SocketAddress remote, String what) {
    RaftNode node = replica.raft();
    // The node's view is a loop round old at most; a chunk refused for that is resent by the leader.
    Optional<DropReason> sender = SnapshotChunker.checkSender(chunk, replica.groupId(), self, node.leaderId(),
        node.term(), node.configuration());
    if (sender.isPresent()) {
      drop(sender.get(), remote, what);
      return;
    }
    Assembler.Outcome outcome;
    synchronized (assembler) { // chunks of one snapshot may come over several connections
      outcome = assembler.offer(chunk);
    }
    if (outcome instanceof Assembler.Complete done) {
      deliver(replica, done.message(), remote);
    } else if (outcome instanceof Assembler.Dropped d) {
      drop(d.reason(), remote, what);
    }
  }

  private static String describe(Message m) {
    return m.getClass().getSimpleName() + " from " + m.from() + " to " + m.to() + " term " + m.term();
  }

  /** Drops undecodable input; before the node has started it is ignored, like every frame then. */
  private void undecodable(SocketAddress remote, String what) {
    if (open) {
      drop(DropReason.UNDECODABLE, remote, what);
    }
  }

  private void drop(DropReason reason, SocketAddress remote, String what) {
    dropped.get(reason).increment();
    long held = logLimit.permit();
    if (held < 0) {
      return;
    }
    String more = held == 0 ? "" : " (" + held + " more dropped and not logged since the last line)";
    if (reason.alarm()) {
      LOG.error("node {}: dropped {} from {}: {}: correct peers never send this{}", self, what, remote, reason, more);
    } else {
      LOG.warn("node {}: dropped {} from {}: {}{}", self, what, remote, reason, more);
    }
  }

  /** Frames dropped so far for {@code reason} (tests). */
  long dropped(DropReason reason) {
    return (long) dropped.get(reason).count();
  }
}
