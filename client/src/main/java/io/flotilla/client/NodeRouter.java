package io.flotilla.client;

import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Response;
import io.netty.channel.EventLoopGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * Where an attempt goes, and which nodes to avoid. It holds the connections by address (the
 * configured endpoints, then any leader hint) and the believed leader. Writes and LINEARIZABLE
 * reads go to the leader when one is known and otherwise walk the endpoints; FOLLOWER and
 * SERIALIZABLE reads are spread over all of them. A node that lets an attempt time out (a silent
 * node: SIGSTOPped, or a dead container's published port) is avoided for five attempt timeouts,
 * passed over while another node is not ({@link NodeConnection#firstAnswering}).
 *
 * <p>Separate from {@link FlotillaClient} because it is the routing state every call shares (the
 * node list, the leader index, the spread counter, the avoided nodes) and the only code that
 * changes it; the retry logic in {@code FlotillaClient.Call} asks it for a target and reports what
 * each answer said.
 */
final class NodeRouter {
  /** How many attempt timeouts a node that let one pass is avoided for. */
  private static final int AVOID_FACTOR = 5;

  /** One attempt got no answer within {@link ClientOptions#attemptTimeout()}. */
  static final class AttemptTimeoutException extends Exception {
    private static final long serialVersionUID = 1L;

    AttemptTimeoutException(String message) {
      super(message, null, false, false);
    }
  }

  private final ClientOptions options;
  private final EventLoopGroup group;
  private final List<NodeConnection> nodes = new ArrayList<>();
  private final ConcurrentHashMap<String, NodeConnection> byAddress = new ConcurrentHashMap<>();
  private final AtomicInteger spread = new AtomicInteger();
  /** Index into nodes of the believed leader, or -1. */
  private volatile int leader = -1;

  NodeRouter(ClientOptions options, EventLoopGroup group) {
    this.options = options;
    this.group = group;
    for (Endpoint e : options.endpoints()) {
      NodeConnection c = new NodeConnection(e, group, options.maxFrameBytes(),
          (int) options.connectTimeout().toMillis(), options.tls());
      nodes.add(c);
      byAddress.put(e.toString(), c);
    }
  }

  NodeConnection connectionFor(String address) {
    return byAddress.computeIfAbsent(address, a -> {
      NodeConnection c = new NodeConnection(Endpoint.parse(a), group, options.maxFrameBytes(),
          (int) options.connectTimeout().toMillis(), options.tls());
      synchronized (nodes) {
        nodes.add(c);
      }
      return c;
    });
  }

  /** Every connection so far, configured or learned from a hint. */
  List<NodeConnection> all() {
    synchronized (nodes) {
      return List.copyOf(nodes);
    }
  }

  /**
   * The node for one attempt of an unpinned call; {@code walk} numbers the call's tries while the
   * leader is unknown.
   */
  NodeConnection pick(boolean isWrite, Consistency consistency, IntSupplier walk) {
    List<NodeConnection> all;
    synchronized (nodes) {
      all = List.copyOf(nodes);
    }
    int l = leader;
    if ((isWrite || consistency == Consistency.LINEARIZABLE) && l >= 0 && l < all.size()) {
      return all.get(l);
    }
    if (!isWrite && consistency != Consistency.LINEARIZABLE) {
      return NodeConnection.firstAnswering(all, spread::getAndIncrement);
    }
    // Leader unknown: walk the endpoints, one per try.
    return NodeConnection.firstAnswering(all, walk);
  }

  /**
   * Watches one attempt at {@code to}. When {@code timed}, an attempt still unanswered after the
   * attempt timeout fails with {@link AttemptTimeoutException}: completing its future also frees
   * its slot on the connection, and a late answer is then dropped. The node is then avoided for a
   * while, so the calls after this one do not each wait an attempt timeout on it too. Any answer
   * from it ends the avoidance.
   */
  void watch(NodeConnection to, CompletableFuture<Response> attemptDone, boolean timed) {
    if (timed) {
      var timer = group.schedule(() -> {
        if (attemptDone.completeExceptionally(new AttemptTimeoutException(to.endpoint()
            + " did not answer within " + options.attemptTimeout().toMillis() + " ms"))) {
          to.avoidFor(AVOID_FACTOR * options.attemptTimeout().toNanos());
        }
      }, options.attemptTimeout().toNanos(), TimeUnit.NANOSECONDS);
      attemptDone.whenComplete((r, e) -> timer.cancel(false));
    }
    attemptDone.whenComplete((r, e) -> {
      if (r != null) {
        to.answered();
      }
    });
  }

  void follow(String hint) {
    NodeConnection c = connectionFor(Endpoint.parse(hint).toString());
    synchronized (nodes) {
      leader = nodes.indexOf(c);
    }
  }

  void rememberLeader(NodeConnection c) {
    synchronized (nodes) {
      int i = nodes.indexOf(c);
      if (i >= 0) {
        leader = i;
      }
    }
  }

  void forgetLeader(NodeConnection c) {
    int l = leader;
    synchronized (nodes) {
      if (l >= 0 && l < nodes.size() && nodes.get(l) == c) {
        leader = -1;
      }
    }
  }
}
