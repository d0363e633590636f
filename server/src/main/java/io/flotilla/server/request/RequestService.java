package io.flotilla.server.request;

import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.ScanResult;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.membership.MemberDirectory;
import io.flotilla.server.membership.MembershipService;
import io.flotilla.server.net.RequestHandler;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.RangeState;
import io.flotilla.storage.StorageOptions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Client requests, as the client port hands them over (on a Netty thread: nothing here blocks):
 * routed to the replica of the range holding their key (docs/ranges.md), writes proposed and
 * answered with their own entry's applied result, reads served at the consistency asked for,
 * range and membership requests passed on; every failure mapped by {@link ProtocolErrors}.
 *
 * <ul>
 *   <li>{@code LINEARIZABLE} reads use ReadIndex on the range's leader.
 *   <li>{@code FOLLOWER} reads use a ReadIndex forwarded to the leader, then are served locally.
 *   <li>{@code SERIALIZABLE} reads are served from the local state at once.
 * </ul>
 *
 * <p>A request that needs its range's leader and reaches another node is answered NOT_LEADER with
 * the leader's address on a node of one range (the client then goes there itself); on a node of
 * many ranges, whose leaders differ, it is forwarded to the leader instead, once, so that a client
 * that knows nothing of ranges still works. A transaction over keys of two ranges is refused
 * (CROSS_RANGE). A write or read whose key a split moved to another range meanwhile is served
 * again by that range.
 */
public final class RequestService implements RequestHandler {
  /** A request's deadline when it sets none (docs/protocol.md, {@code timeout_ms}). */
  public static final long DEFAULT_TIMEOUT_MS = 5_000;
  /** How often a request follows its key after splits before giving up (UNAVAILABLE, retry). */
  private static final int MAX_REROUTES = 3;

  private final long self;
  private final Store store;
  private final MembershipService membership;
  private final MemberDirectory directory;
  private final Supplier<StatusResult> status;
  private final ProtocolErrors errors;
  private final RangeRequests ranges;
  private final KvTranslator kv = new KvTranslator(StorageOptions.defaults());
  /** Connections to the other nodes, for forwarding; made when first needed. */
  private volatile FlotillaClient forwarder;
  /** Requests handed to another node's range leader (metrics: a range-aware client makes few). */
  private final java.util.concurrent.atomic.AtomicLong forwarded = new java.util.concurrent.atomic.AtomicLong();

  private final io.flotilla.server.placement.NodeReports reports;
  private final io.flotilla.server.placement.PlacementRequests placement;

  /** @param status this node's answer to a {@code status} request */
  public RequestService(long self, Store store, MembershipService membership, MemberDirectory directory,
      Supplier<StatusResult> status, io.flotilla.server.placement.NodeReports reports,
      io.flotilla.server.placement.PlacementRequests placement) {
    this.reports = reports;
    this.placement = placement;
    this.self = self;
    this.store = store;
    this.membership = membership;
    this.directory = directory;
    this.status = status;
    this.errors = new ProtocolErrors(self, directory);
    this.ranges = new RangeRequests(self, store, errors);
  }

  @Override
  public CompletableFuture<Response> handle(Request r) {
    long id = r.getRequestId();
    long timeout = r.getTimeoutMs() > 0 ? r.getTimeoutMs() : DEFAULT_TIMEOUT_MS;
    Replica system = store.replica(Store.KV_GROUP_ID);
    CompletableFuture<Response> out;
    if (id == 0) {
      // 0 marks answers the server cannot attribute to a request (BAD_FRAME, TOO_LARGE): an
      // answer to a request numbered 0 could not be told from those.
      out = CompletableFuture.completedFuture(KvTranslator.error(0, Error.Code.INVALID_ARGUMENT,
          "request_id 0 is reserved for errors not tied to a request; number requests from 1"));
    } else if (!r.hasStatus() && membership.isRemoved()) {
      out = CompletableFuture.completedFuture(KvTranslator.error(id, Error.Code.NODE_UNAVAILABLE,
          "node " + self + " was removed from the cluster; use another member"));
    } else if (KvTranslator.isWrite(r) || r.hasGet() || r.hasScan()) {
      return keyed(r, 0).orTimeout(timeout, TimeUnit.MILLISECONDS)
          .exceptionally(t -> errors.fromFailure(r, t, routeOrSystem(r)));
    } else if (r.hasRangeList() || r.hasRangeSplit() || r.hasRangeTransferLeader()) {
      out = ranges.handle(r, this::forwardIfLed, this::forwardToHolders);
    } else if (r.hasMemberList() || r.hasTransferLeader() || r.hasMemberChange() || r.hasAllocateNodeId()) {
      // The system range's configuration is the cluster's; every other range follows it
      // (membership.RangeMembership).
      out = system.raft().isLeader() ? membership.handle(r)
          : CompletableFuture.completedFuture(errors.notLeader(id, system.raft().leaderId()));
    } else if (r.hasNodeReport()) {
      // The placement driver's poll: this node's own view, never forwarded.
      out = CompletableFuture.completedFuture(Response.newBuilder().setRequestId(id)
          .setNodeReport(reports.answer(r.getNodeReport())).build());
    } else if (io.flotilla.server.placement.PlacementRequests.handles(r)) {
      // The placement driver runs on the system range's leader.
      CompletableFuture<Response> forwarded = system.raft().isLeader() ? null : forwardIfLed(r, system);
      out = system.raft().isLeader() ? placement.handle(r) : forwarded != null ? forwarded
          : CompletableFuture.completedFuture(errors.notLeader(id, system.raft().leaderId()));
    } else if (r.hasStatus()) {
      out = CompletableFuture.completedFuture(Response.newBuilder().setRequestId(id).setStatus(status.get()).build());
    } else {
      out = CompletableFuture.completedFuture(KvTranslator.error(id, Error.Code.UNSUPPORTED,
          "unsupported op " + r.getOpCase()));
    }
    return out.orTimeout(timeout, TimeUnit.MILLISECONDS).exceptionally(t -> errors.fromFailure(r, t, system));
  }

  private Replica routeOrSystem(Request r) {
    Replica replica = route(r);
    return replica != null ? replica : store.replica(Store.KV_GROUP_ID);
  }

  /** The replica of the range holding {@code r}'s first key on this node, or null. */
  private Replica route(Request r) {
    List<byte[]> keys = Routing.keys(r);
    return keys.isEmpty() ? store.replica(Store.KV_GROUP_ID) : store.replicaFor(keys.get(0));
  }

  /** A request with keys: a write or a read, at the range holding them. */
  private CompletableFuture<Response> keyed(Request r, int reroutes) {
    long id = r.getRequestId();
    if (reroutes > MAX_REROUTES) {
      return done(KvTranslator.error(id, Error.Code.UNAVAILABLE, "the key's range kept changing (splits);"
          + " not applied, retry"));
    }
    List<byte[]> keys = Routing.keys(r);
    Replica replica = route(r);
    if (replica == null) {
      // Placement put the key's range elsewhere: hand the request to a node that holds it.
      CompletableFuture<Response> elsewhere = forwardToHolder(r, keys.get(0));
      if (elsewhere != null) {
        return elsewhere;
      }
      return done(KvTranslator.error(id, Error.Code.UNAVAILABLE, "node " + self + " holds no range for key "
          + show(keys.get(0)) + " yet; retry, here or at another node"));
    }
    RangeState range = replica.range();
    for (byte[] k : keys) {
      if (k.length > 0 && !range.contains(k)) {
        return done(KvTranslator.error(id, Error.Code.CROSS_RANGE, "keys " + show(keys.get(0)) + " and " + show(k)
            + " are in different ranges; a transaction must keep to one range (docs/ranges.md): not applied"));
      }
    }
    boolean needsLeader = KvTranslator.isWrite(r) || consistency(r) == Consistency.LINEARIZABLE;
    if (needsLeader && !replica.raft().isLeader()) {
      CompletableFuture<Response> forwarded = forwardIfLed(r, replica);
      if (forwarded != null) {
        return forwarded;
      }
      return done(errors.notLeader(id, replica.raft().leaderId()));
    }
    boolean write = KvTranslator.isWrite(r);
    replica.served(write, write ? r.getSerializedSize() : 0);
    replica.sampleKey(keys.get(0));
    return write ? write(r, replica, reroutes) : read(r, replica, reroutes);
  }

  /**
   * Hands {@code r} to the node that leads {@code replica}'s range, when this node holds many
   * ranges, knows that leader's client address, and {@code r} was not handed here already; null
   * otherwise (the caller answers NOT_LEADER).
   */
  CompletableFuture<Response> forwardIfLed(Request r, Replica replica) {
    long leader = replica.raft().leaderId();
    String address = leader == 0 || leader == self ? null : directory.leaderHint(leader);
    if (r.getForwarded() || address == null || store.replicaIds().size() < 2) {
      return null;
    }
    forwarded.incrementAndGet();
    return forwarder().forward(Endpoint.parse(address), r.toBuilder().setForwarded(true).build());
  }

  /**
   * Hands {@code r} to a node that holds the range of {@code key} when this node holds none (the
   * placement records in the system range say where each range is: its preferred leader first,
   * then its voters); null when {@code r} was handed here already or no holder is known.
   */
  private CompletableFuture<Response> forwardToHolder(Request r, byte[] key) {
    return forwardToHolders(r, HolderRouting.holders(store, key));
  }

  /** Hands {@code r} to the first of {@code holders} with a known client address; null as above. */
  private CompletableFuture<Response> forwardToHolders(Request r, List<Long> holders) {
    if (r.getForwarded() || r.getForwardedToHolder()) {
      return null;
    }
    for (long node : holders) {
      String address = node == self ? null : directory.clientAddress(node);
      if (address != null) {
        forwarded.incrementAndGet();
        // Not marked forwarded: the holder, if it does not lead the range, hands it on to the
        // leader once more (a client that knows one node reaches every range's leader).
        return forwarder().forward(Endpoint.parse(address), r.toBuilder().setForwardedToHolder(true).build());
      }
    }
    return null;
  }

  /** Requests this node forwarded to a range's leader elsewhere, since it started. */
  public long forwardedCount() {
    return forwarded.get();
  }

  private FlotillaClient forwarder() {
    FlotillaClient f = forwarder;
    if (f == null) {
      synchronized (this) {
        if (forwarder == null) {
          // Its endpoints are never used: forward() names the node each time.
          forwarder = new FlotillaClient(io.flotilla.server.tls.NodeClients.secure(
              io.flotilla.client.ClientOptions.of("127.0.0.1:1"), directory.tls()));
        }
        f = forwarder;
      }
    }
    return f;
  }

  private CompletableFuture<Response> write(Request r, Replica replica, int reroutes) {
    KvTranslator.Translated t = kv.toCommand(r);
    if (t instanceof KvTranslator.Refusal refusal) {
      return done(refusal.response());
    }
    byte[] command = ((KvTranslator.Proposal) t).command().toByteArray();
    return replica.propose(command).thenCompose(applied -> {
      if (applied.result() == null) {
        return done(KvTranslator.error(r.getRequestId(), Error.Code.INTERNAL,
            "the result of entry " + applied.index() + " was not kept"));
      }
      if (applied.result().hasError() && applied.result().getError().getCode()
          == io.flotilla.storage.proto.Error.Code.KEY_OUT_OF_RANGE) {
        return keyed(r, reroutes + 1); // a split moved the key before the write applied: not applied here
      }
      return done(kv.toResponse(r.getRequestId(), applied.result()));
    });
  }

  private static Consistency consistency(Request r) {
    return r.hasGet() ? r.getGet().getConsistency() : r.hasScan() ? r.getScan().getConsistency() : null;
  }

  private CompletableFuture<Response> read(Request r, Replica replica, int reroutes) {
    var bad = kv.checkRead(r);
    if (bad.isPresent()) {
      return done(bad.get());
    }
    if (consistency(r) == Consistency.SERIALIZABLE) {
      Response page = serveRead(r, replica.range());
      return page != null ? done(page) : keyed(r, reroutes + 1);
    }
    // LINEARIZABLE on the leader, FOLLOWER anywhere: ReadIndex (forwarded to the leader by a
    // follower), then serve locally once this node has applied that far. A FOLLOWER read on a node
    // that knows no leader fails here; ProtocolErrors answers it UNAVAILABLE, not NOT_LEADER. If a
    // split moved the key (a scan's start) away meanwhile, the range holding it now serves the read.
    return replica.raft().linearizableRead().thenCompose(readIndex -> {
      Response page = serveRead(r, replica.range());
      return page != null ? done(page) : keyed(r, reroutes + 1);
    });
  }

  /**
   * The read served from {@code range}, or null when the range no longer holds the key (a get's
   * key, a scan's start): a split applied since the request was routed, and the range holding it
   * now must serve it. A scan served by a range that a split shrank meanwhile would come back
   * empty, its continuation before its own start (found by chaos --ranges with the split fault).
   */
  private Response serveRead(Request r, RangeState range) {
    var before = range.descriptor();
    byte[] key = Routing.keys(r).get(0);
    if (!range.contains(key)) {
      return null;
    }
    if (r.hasGet()) {
      return kv.getResponse(r.getRequestId(), range.get(r.getGet().getKey().toByteArray()));
    }
    Response page = scanPage(r, range);
    // A split applied during the scan changes the descriptor: serve again from the ranges as now.
    return range.descriptor().equals(before) ? page : null;
  }

  private Response scanPage(Request r, RangeState range) {
    var scan = r.getScan();
    int limit = scan.getLimit() == 0 ? KvTranslator.SCAN_DEFAULT_LIMIT
        : Math.min(scan.getLimit(), KvTranslator.SCAN_MAX_LIMIT);
    byte[] end = scan.getEnd().toByteArray();
    Response page = kv.scanResponse(r.getRequestId(), range.scan(scan.getStart().toByteArray(), end, limit,
        KvTranslator.SCAN_PAGE_BYTES));
    // The range ended before the scan did: the next page starts at the next range.
    byte[] rangeEnd = range.descriptor().getEndKey().toByteArray();
    ScanResult result = page.getScan();
    if (result.getContinuation().isEmpty() && rangeEnd.length > 0
        && (end.length == 0 || Arrays.compareUnsigned(rangeEnd, end) < 0)) {
      return page.toBuilder().setScan(result.toBuilder()
          .setContinuation(com.google.protobuf.ByteString.copyFrom(rangeEnd))).build();
    }
    return page;
  }

  private static CompletableFuture<Response> done(Response r) {
    return CompletableFuture.completedFuture(r);
  }

  private static String show(byte[] key) {
    return "'" + new String(key, java.nio.charset.StandardCharsets.UTF_8) + "'";
  }

  /** Closes the connections used for forwarding. */
  public void close() {
    ranges.close();
    FlotillaClient f = forwarder;
    if (f != null) {
      f.close();
    }
  }
}
