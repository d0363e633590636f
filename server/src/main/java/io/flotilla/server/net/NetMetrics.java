package io.flotilla.server.net;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * The network's limits and links as metrics (docs/metrics.md, "Connections and backpressure"):
 * what the client port refused, closed and held back, and each peer link's state and queue. Read
 * from the ports when scraped; the link listener only bumps counters registered once per peer.
 */
public final class NetMetrics {
  private NetMetrics() {}

  public static void bind(MeterRegistry r, ClientPort client, PeerTransport peers) {
    gauge(r, "flotilla.client.connections", client, ClientPort::connections,
        "open client connections");
    counter(r, "flotilla.client.connections.refused", client, ClientPort::connectionsRefused,
        "client connections refused at the connection limit (answered UNAVAILABLE, then closed)");
    FunctionCounter.builder("flotilla.client.connections.closed", client,
        ClientPort::connectionsClosedForInput).tag("reason", "input")
        .description("client connections closed: input budget full or frame timeout").register(r);
    FunctionCounter.builder("flotilla.client.connections.closed", client,
        ClientPort::connectionsClosedIdle).tag("reason", "idle")
        .description("client connections closed: idle past the idle timeout").register(r);
    gauge(r, "flotilla.client.input.buffered.bytes", client, ClientPort::bufferedInputBytes,
        "bytes of incomplete request frames buffered (against the input budget)");
    gauge(r, "flotilla.client.output.pending.bytes", client, ClientPort::pendingOutputBytes,
        "response bytes written but not yet taken by the kernel, all connections");
    counter(r, "flotilla.client.output.pauses", client, ClientPort::outputPauses,
        "times a client connection stopped being read: its unsent responses passed the high-water mark");

    counter(r, "flotilla.peer.frames.dropped", peers, PeerTransport::framesDropped,
        "peer frames dropped: queue full, unknown peer, transport closed");
    counter(r, "flotilla.peer.heartbeats.coalesced", peers, PeerTransport::heartbeatsCoalesced,
        "heartbeats replaced by a newer one before they were sent");
    counter(r, "flotilla.peer.snapshots.refused", peers, PeerTransport::snapshotsRefused,
        "snapshots not sent because one was still in flight to that peer");
    counter(r, "flotilla.peer.snapshots.aborted", peers, PeerTransport::snapshotsAborted,
        "snapshots abandoned part-way because their connection closed (Raft told to resend)");
    gauge(r, "flotilla.peer.input.buffered.bytes", peers, PeerTransport::bufferedInputBytes,
        "bytes of incomplete peer frames buffered (against the peer port's own budget)");

    PerPeer perPeer = new PerPeer(r, peers);
    peers.peers().forEach(perPeer::of);
    peers.addListener(perPeer);
  }

  /** Link series per peer, registered when a peer is first seen (ids come from membership). */
  private static final class PerPeer implements PeerTransport.Listener {
    private final MeterRegistry r;
    private final PeerTransport peers;
    private final Map<Long, Counter[]> byPeer = new ConcurrentHashMap<>();

    PerPeer(MeterRegistry r, PeerTransport peers) {
      this.r = r;
      this.peers = peers;
    }

    Counter[] of(long peer) {
      return byPeer.computeIfAbsent(peer, id -> {
        String tag = Long.toString(id);
        Gauge.builder("flotilla.peer.link.up", peers, p -> p.connected(id) ? 1 : 0).tag("peer", tag)
            .description("1 while the link to this peer has a connection the peer answers on")
            .register(r);
        Gauge.builder("flotilla.peer.queued.bytes", peers, p -> p.queuedBytes(id)).tag("peer", tag)
            .description("bytes waiting to go to this peer: queues, snapshot chunks, socket buffer")
            .register(r);
        return new Counter[] {
            Counter.builder("flotilla.peer.link.lost").tag("peer", tag)
                .description("times the link to this peer was lost (closed, or silent too long)")
                .register(r),
            Counter.builder("flotilla.peer.link.restored").tag("peer", tag)
                .description("times a lost link to this peer answered again").register(r)};
      });
    }

    @Override
    public void linkUp(long peer) {
      of(peer);
    }

    @Override
    public void linkLost(long peer) {
      of(peer)[0].increment();
    }

    @Override
    public void linkRestored(long peer) {
      of(peer)[1].increment();
    }
  }

  private static <T> void gauge(MeterRegistry r, String name, T obj, ToDoubleFunction<T> f,
      String description) {
    Gauge.builder(name, obj, f).description(description).register(r);
  }

  private static <T> void counter(MeterRegistry r, String name, T obj, ToDoubleFunction<T> f,
      String description) {
    FunctionCounter.builder(name, obj, f).description(description).register(r);
  }
}
