package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.client.proto.MemberListResult;
import io.flotilla.client.proto.RangeInfo;
import io.flotilla.client.proto.RangeListResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.TxnOp;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Where each range's leader is, as far as this client knows: start key → (end key, leader's
 * client address), from the cluster's range list and member list (docs/ranges.md, "Routing").
 * A write or LINEARIZABLE read of a key goes straight to its range's leader instead of through a
 * node that forwards it: with ranges led by different nodes, two out of three requests would
 * otherwise take an extra hop.
 *
 * <p>Only ever a hint: a stale entry (a split, a leader change since) sends a request to a node
 * that forwards it or answers NOT_LEADER, and the call's retries route the usual way. So the
 * cache is refreshed in the background, at most once per {@link #MAX_AGE_NANOS}, by the calls
 * that use it, never on their path. It wakes up only once a node answers that it forwarded a
 * request ({@code Response.forwarded}) or this client splits a range: with one range the client's
 * leader tracking does the same job, and the cluster sees no extra requests.
 *
 * <p>Thread-safe: the map is replaced whole (copy on write), read without locks.
 */
final class RangeCache {
  /** How old the view may get before a call asks for a fresh one (in the background). */
  static final long MAX_AGE_NANOS = 1_000_000_000L;

  /** One range's routing: the end of its keys (empty: past the last) and its leader's address. */
  private record Route(ByteString end, String leader) {}

  private volatile NavigableMap<ByteString, Route> routes = new TreeMap<>(ByteString.unsignedLexicographicalComparator());
  private volatile long refreshedAt = Long.MIN_VALUE / 2;
  private final AtomicBoolean refreshing = new AtomicBoolean();
  /**
   * Set by the first answer a node forwarded: until then the cluster may have one range, and the
   * cache asks nothing (a single-range cluster sees no extra requests from this client).
   */
  private volatile boolean active;
  private final Supplier<CompletableFuture<RangeListResult>> ranges;
  private final Supplier<CompletableFuture<MemberListResult>> members;

  RangeCache(Supplier<CompletableFuture<RangeListResult>> ranges,
      Supplier<CompletableFuture<MemberListResult>> members) {
    this.ranges = ranges;
    this.members = members;
  }

  /**
   * The client address of the leader of the range holding {@code r}'s key, or null (no key, one
   * range, leader unknown or without a client address). Starts a background refresh when the view
   * is old.
   */
  String leaderFor(Request r) {
    if (!active) {
      return null;
    }
    long now = System.nanoTime();
    if (now - refreshedAt > MAX_AGE_NANOS) {
      refresh(now);
    }
    NavigableMap<ByteString, Route> m = routes;
    if (m.size() < 2) {
      return null;
    }
    ByteString key = keyOf(r);
    if (key == null) {
      return null;
    }
    Map.Entry<ByteString, Route> e = m.floorEntry(key);
    if (e == null) {
      return null;
    }
    Route route = e.getValue();
    boolean inside = route.end().isEmpty()
        || ByteString.unsignedLexicographicalComparator().compare(key, route.end()) < 0;
    return inside ? route.leader() : null;
  }

  /** Forgets the view (a split through this client): the next call asks for a fresh one. */
  void invalidate() {
    active = true;
    refreshedAt = Long.MIN_VALUE / 2;
  }

  /** A node forwarded a request of this client: the cluster has ranges; keep a view of them. */
  void rangesExist() {
    active = true;
  }

  private void refresh(long now) {
    if (!refreshing.compareAndSet(false, true)) {
      return;
    }
    refreshedAt = now; // a failed refresh is retried after MAX_AGE, not on every call
    CompletableFuture<RangeListResult> rl;
    try {
      rl = ranges.get();
    } catch (RuntimeException e) {
      refreshing.set(false);
      return;
    }
    rl.thenCompose(list -> list.getRangesCount() < 2
            ? CompletableFuture.completedFuture(new Object[] {list, null})
            : members.get().thenApply(ms -> new Object[] {list, ms}))
        .whenComplete((pair, err) -> {
          try {
            if (err == null) {
              routes = build((RangeListResult) pair[0], (MemberListResult) pair[1]);
            }
          } finally {
            refreshing.set(false);
          }
        });
  }

  private static NavigableMap<ByteString, Route> build(RangeListResult list, MemberListResult ms) {
    NavigableMap<ByteString, Route> m = new TreeMap<>(ByteString.unsignedLexicographicalComparator());
    if (ms == null) {
      return m;
    }
    Map<Long, String> addresses = new HashMap<>();
    ms.getMembersList().forEach(x -> {
      if (!x.getClientAddress().isEmpty()) {
        addresses.put(x.getId(), x.getClientAddress());
      }
    });
    for (RangeInfo r : list.getRangesList()) {
      m.put(r.getStartKey(), new Route(r.getEndKey(), addresses.get(r.getLeaderId())));
    }
    return m;
  }

  /** The key deciding a request's range (docs/ranges.md), or null for requests of no key. */
  static ByteString keyOf(Request r) {
    return switch (r.getOpCase()) {
      case PUT -> r.getPut().getKey();
      case GET -> r.getGet().getKey();
      case DELETE -> r.getDelete().getKey();
      case CAS -> r.getCas().getKey();
      case INCR -> r.getIncr().getKey();
      case TXN -> {
        var t = r.getTxn();
        if (t.getComparesCount() > 0) {
          yield t.getCompares(0).getKey();
        }
        TxnOp op = t.getSuccessCount() > 0 ? t.getSuccess(0) : t.getFailureCount() > 0 ? t.getFailure(0) : null;
        yield op == null ? null : op.hasPut() ? op.getPut().getKey() : op.getDelete().getKey();
      }
      default -> null;
    };
  }
}
