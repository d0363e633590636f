package io.flotilla.server.node;

import io.flotilla.server.net.PeerTransport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Bytes sent to and received from each peer: {@code flotilla_peer_sent_bytes_total{peer}} (told by
 * the transport, which knows where it writes) and {@code flotilla_peer_received_bytes_total{peer}}
 * (told by {@link PeerInbox} once it has decoded a frame's sender). Each frame counts with its
 * 4-byte length prefix. Registered up front for every member but this node; frames from a node
 * that is not a member, or whose sender could not be decoded, count under {@code peer="other"}.
 * Called on Netty threads: only bumps counters.
 */
final class PeerTraffic implements PeerTransport.Traffic {
  /** Senders given series of their own at most; more (a garbage id is not a peer) count as "other". */
  private static final int MAX_PEERS = 64;
  private static final long OTHER = 0;

  private final MeterRegistry registry;
  private final long self;
  private final Map<Long, Counter[]> byPeer = new ConcurrentHashMap<>();

  /** How many messages travel together: one flush (one write syscall, mostly) carries this many frames. */
  private final io.micrometer.core.instrument.DistributionSummary framesPerFlush;

  PeerTraffic(MeterRegistry registry, Set<Long> members, long self) {
    this.registry = registry;
    this.framesPerFlush = io.micrometer.core.instrument.DistributionSummary.builder("flotilla.peer.frames.per.flush")
        .description("peer frames (Raft messages, snapshot chunks) written per flush of a peer connection")
        .register(registry);
    this.self = self;
    // Peers that join later get their series on first traffic; known ones show up at zero at once.
    for (long id : members) {
      if (id != self) {
        byPeer.put(id, counters(Long.toString(id)));
      }
    }
  }

  @Override
  public void sent(long peerId, int bytes) {
    of(peerId)[0].increment(bytes);
  }

  @Override
  public void flushed(long peerId, int frames) {
    framesPerFlush.record(frames);
  }

  /** A frame of {@code bytes} (with its length prefix) from {@code sender}; -1: not decoded. */
  void received(long sender, int bytes) {
    of(sender)[1].increment(bytes);
  }

  private Counter[] of(long id) {
    Counter[] known = byPeer.get(id);
    if (known != null) {
      return known;
    }
    // Bounded: a sender id comes from the frame itself, and a garbage one must not mint series.
    return id <= 0 || id == self || byPeer.size() >= MAX_PEERS
        ? byPeer.computeIfAbsent(OTHER, k -> counters("other"))
        : byPeer.computeIfAbsent(id, k -> counters(Long.toString(k)));
  }

  private Counter[] counters(String peer) {
    return new Counter[] {
        Counter.builder("flotilla.peer.sent").baseUnit("bytes").tag("peer", peer)
            .description("bytes of Raft frames (with length prefix) queued to this peer's connection")
            .register(registry),
        Counter.builder("flotilla.peer.received").baseUnit("bytes").tag("peer", peer)
            .description("bytes of Raft frames (with length prefix) received from this peer").register(registry)};
  }
}
