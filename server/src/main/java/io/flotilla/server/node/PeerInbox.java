package io.flotilla.server.node;

import io.flotilla.raft.DropReason;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageValidator;
import io.flotilla.raft.codec.MessageCodec;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.raft.node.SnapshotChunker.Assembler;
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
 * The peer port's inbound path: what kind of frame, decode, validate, reassemble snapshot chunks,
 * deliver to the Raft node. Nothing a peer sends is trusted: an invalid frame is dropped, counted
 * ({@code flotilla_peer_dropped_total{reason}}, docs/metrics.md) and logged with the remote address
 * at a bounded rate, and the node carries on. Stateless checks run here on the network thread, so
 * junk never queues for the Raft loop; checks against the node's state (is the sender a member, is
 * a claimed match within the log) run in the core, which hands the reason back on the loop.
 *
 * <p>A peer frame is a Raft message (protobuf {@code RaftMessage}) or, marked by a leading zero
 * byte (a tag protobuf never writes first), a snapshot chunk. Thread-safe.
 */
final class PeerInbox {
  private static final Logger LOG = LoggerFactory.getLogger(PeerInbox.class);
  static final byte CHUNK_FRAME = 0;
  /** A partial snapshot that has received nothing for this long was abandoned by its sender. */
  private static final long ABANDON_AFTER_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final long groupId;
  private final long self;
  private final Assembler assembler;
  private final Map<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
  private final RateLimitedLog logLimit = new RateLimitedLog(20, TimeUnit.SECONDS.toNanos(1), System::nanoTime);
  /** Set once the node is built (the transport starts first); frames before that are ignored. */
  private volatile RaftNode raft;

  /** @param snapshotBudgetBytes bytes of partial snapshots held at once, node-wide */
  PeerInbox(long groupId, long self, long snapshotBudgetBytes, MeterRegistry registry) {
    this.groupId = groupId;
    this.self = self;
    this.assembler = new Assembler(snapshotBudgetBytes, ABANDON_AFTER_NANOS, System::nanoTime);
    for (DropReason r : DropReason.values()) {
      dropped.put(r, Counter.builder("flotilla.peer.dropped").tag("reason", r.tag())
          .description("peer frames dropped as invalid, by reason").register(registry));
    }
  }

  void attach(RaftNode node) {
    this.raft = node;
  }

  /** On a network thread: one frame from the peer connection at {@code remote}. */
  void accept(byte[] frame, SocketAddress remote) {
    RaftNode node = raft;
    if (node == null) {
      return; // still starting: as if lost in transit
    }
    if (frame.length > 0 && frame[0] == CHUNK_FRAME) {
      acceptChunk(node, frame, remote);
      return;
    }
    Message m;
    try {
      m = MessageCodec.decode(frame);
    } catch (Exception e) { // InvalidProtocolBufferException, or a value no record accepts
      drop(DropReason.UNDECODABLE, remote, frame.length + " bytes: " + e.getMessage());
      return;
    }
    deliver(node, m, remote);
  }

  private void deliver(RaftNode node, Message m, SocketAddress remote) {
    Optional<DropReason> invalid = MessageValidator.validate(m, groupId, self);
    if (invalid.isPresent()) {
      drop(invalid.get(), remote, describe(m));
      return;
    }
    node.deliver(m, reason -> drop(reason, remote, describe(m)));
  }

  private void acceptChunk(RaftNode node, byte[] frame, SocketAddress remote) {
    SnapshotChunker.SnapshotChunk chunk;
    try {
      chunk = SnapshotChunker.decode(java.util.Arrays.copyOfRange(frame, 1, frame.length));
    } catch (Exception e) {
      drop(DropReason.UNDECODABLE, remote, "snapshot chunk of " + frame.length + " bytes: " + e.getMessage());
      return;
    }
    // The node's view is a loop round old at most; a chunk refused for that is resent by the leader.
    Optional<DropReason> sender = SnapshotChunker.checkSender(chunk, groupId, self, node.leaderId(), node.term(),
        node.configuration());
    String what = "snapshot chunk from " + chunk.from() + " term " + chunk.term() + " at " + chunk.offset();
    if (sender.isPresent()) {
      drop(sender.get(), remote, what);
      return;
    }
    Assembler.Outcome outcome;
    synchronized (assembler) { // chunks of one snapshot may come over several connections
      outcome = assembler.offer(chunk);
    }
    if (outcome instanceof Assembler.Complete done) {
      deliver(node, done.message(), remote);
    } else if (outcome instanceof Assembler.Dropped d) {
      drop(d.reason(), remote, what);
    }
  }

  private static String describe(Message m) {
    return m.getClass().getSimpleName() + " from " + m.from() + " to " + m.to() + " term " + m.term();
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
