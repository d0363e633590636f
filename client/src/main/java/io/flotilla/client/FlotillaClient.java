package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.client.proto.CasRequest;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.DeleteRequest;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetRequest;
import io.flotilla.client.proto.IncrRequest;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.ScanRequest;
import io.flotilla.client.proto.StatusRequest;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.client.proto.TxnRequest;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The Java client. Thread-safe; one multiplexed connection per node; every call is asynchronous
 * (a {@link CompletableFuture}) and {@link #blocking()} wraps them for simple code.
 *
 * <p>Routing: writes and LINEARIZABLE reads go to the leader, discovered from any endpoint
 * (NOT_LEADER answers carry the leader's address when the cluster knows it; without one the
 * client walks its endpoints) and remembered once it answers; FOLLOWER and SERIALIZABLE reads
 * are spread over all endpoints. Retries: NOT_LEADER always (at once, at the hint, or at the next
 * endpoint), UNAVAILABLE and unreachable nodes (exponential backoff with jitter) until the call's
 * deadline; INTERNAL and the request's own errors never. An attempt that
 * gets no answer within {@link ClientOptions#attemptTimeout()} is retried at another node. A write
 * whose connection dropped after sending is retried only under a session (exactly-once, the
 * default); without one it fails with TIMEOUT and {@link FlotillaException#outcomeUnknown()}. A
 * write that was ever handed to a connection without a definite answer ends, at the deadline, as
 * outcome unknown.
 */
public final class FlotillaClient implements AutoCloseable {
  private final ClientOptions options;
  private final EventLoopGroup group;
  private final NodeRouter router;
  private final SessionPool sessions = new SessionPool();
  /** Each range's leader, so that a key's request goes straight there (docs/ranges.md). */
  private final RangeCache rangeCache = new RangeCache(this::ranges, this::members);

  public FlotillaClient(ClientOptions options) {
    this.options = options;
    this.group = new NioEventLoopGroup(1, new DefaultThreadFactory("flotilla-client", true));
    this.router = new NodeRouter(options, group);
  }

  public static FlotillaClient connect(String endpoints) {
    return new FlotillaClient(ClientOptions.of(endpoints));
  }

  public BlockingClient blocking() {
    return new BlockingClient(this);
  }

  // ------------------------------------------------------------------------------ operations

  public CompletableFuture<Void> put(byte[] key, byte[] value) {
    return write(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(bytes(key))
        .setValue(bytes(value)))).thenApply(r -> null);
  }

  public CompletableFuture<Optional<byte[]>> get(byte[] key, Consistency consistency) {
    return read(Request.newBuilder().setGet(GetRequest.newBuilder().setKey(bytes(key))
        .setConsistency(consistency)), consistency)
        .thenApply(r -> r.getGet().getFound()
            ? Optional.of(r.getGet().getValue().toByteArray()) : Optional.empty());
  }

  public CompletableFuture<Optional<byte[]>> get(byte[] key) {
    return get(key, Consistency.LINEARIZABLE);
  }

  /** Deletes the key; true when it existed. */
  public CompletableFuture<Boolean> delete(byte[] key) {
    return write(Request.newBuilder().setDelete(DeleteRequest.newBuilder().setKey(bytes(key))))
        .thenApply(r -> r.getDelete().getExisted());
  }

  /**
   * Sets {@code key} to {@code newValue} if its value is {@code expected} ({@code null}: absent).
   * True when swapped; false when the comparison failed (nothing written).
   */
  public CompletableFuture<Boolean> cas(byte[] key, byte[] expected, byte[] newValue) {
    CasRequest.Builder cas = CasRequest.newBuilder().setKey(bytes(key)).setNewValue(bytes(newValue));
    if (expected == null) {
      cas.setExpectAbsent(true);
    } else {
      cas.setExpected(bytes(expected));
    }
    return write(Request.newBuilder().setCas(cas), Error.Code.CAS_FAILED)
        .thenApply(r -> !r.hasError() && r.getCas().getSwapped());
  }

  /** Adds {@code delta} to the counter at {@code key}; returns the new value. */
  public CompletableFuture<Long> incr(byte[] key, long delta) {
    return write(Request.newBuilder().setIncr(IncrRequest.newBuilder().setKey(bytes(key))
        .setDelta(delta))).thenApply(r -> r.getIncr().getValue());
  }

  public CompletableFuture<io.flotilla.client.proto.ScanResult> scan(byte[] start, byte[] end,
      int limit, Consistency consistency) {
    return read(Request.newBuilder().setScan(ScanRequest.newBuilder().setStart(bytes(start))
        .setEnd(bytes(end)).setLimit(limit).setConsistency(consistency)), consistency)
        .thenApply(Response::getScan);
  }

  /** Runs a transaction; true when its compares held (success ops applied). */
  public CompletableFuture<Boolean> txn(TxnRequest txn) {
    return write(Request.newBuilder().setTxn(txn)).thenApply(r -> r.getTxn().getSucceeded());
  }

  /**
   * The cluster's members, from the leader. Read-only, so routed like a LINEARIZABLE read: an
   * attempt that gets no answer within the attempt timeout is retried at another node.
   */
  public CompletableFuture<io.flotilla.client.proto.MemberListResult> members() {
    return read(Request.newBuilder().setMemberList(
        io.flotilla.client.proto.MemberListRequest.getDefaultInstance()), Consistency.LINEARIZABLE)
        .thenApply(Response::getMemberList);
  }

  /** One membership change; completes with the membership after it. */
  public CompletableFuture<io.flotilla.client.proto.MemberListResult> changeMembers(
      io.flotilla.client.proto.MemberChangeRequest change) {
    return write(Request.newBuilder().setMemberChange(change), true).thenApply(Response::getMemberChange);
  }

  /** A node id the cluster never handed out before (what {@code server --join} without {@code --id} asks for). */
  public CompletableFuture<Long> allocateNodeId() {
    return write(Request.newBuilder().setAllocateNodeId(io.flotilla.client.proto.NodeIdRequest.getDefaultInstance()),
        true).thenApply(r -> r.getAllocateNodeId().getNodeId());
  }

  /** Every node as the placement driver sees it (docs/placement.md): state, replicas, leaders, bytes. */
  public CompletableFuture<io.flotilla.client.proto.NodeListResult> nodes() {
    return write(Request.newBuilder().setNodeList(io.flotilla.client.proto.NodeListRequest.getDefaultInstance()), true)
        .thenApply(Response::getNodeList);
  }

  /** Starts draining node {@code nodeId}: its replicas move away, then it leaves the cluster. */
  public CompletableFuture<io.flotilla.client.proto.NodeListResult> decommission(long nodeId) {
    return write(Request.newBuilder().setNodeDecommission(io.flotilla.client.proto.NodeDecommissionRequest.newBuilder()
        .setNodeId(nodeId)), true).thenApply(Response::getNodeDecommission);
  }

  /** Changes the placement settings (0: keep); all 0 reads them. */
  public CompletableFuture<io.flotilla.client.proto.PlacementSettingsResult> placement(int replicationFactor,
      int maxMovesPerNode) {
    return write(Request.newBuilder().setPlacementSet(io.flotilla.client.proto.PlacementSetRequest.newBuilder()
        .setReplicationFactor(replicationFactor).setMaxMovesPerNode(maxMovesPerNode)), true)
        .thenApply(Response::getPlacementSet);
  }

  /**
   * Every range (docs/ranges.md) as one node knows them, in key order. Any node answers: each
   * knows the ranges it does not hold from the placement records (docs/placement.md); the leader
   * ids are that node's view.
   */
  public CompletableFuture<io.flotilla.client.proto.RangeListResult> ranges() {
    return read(Request.newBuilder().setRangeList(io.flotilla.client.proto.RangeListRequest.getDefaultInstance()),
        Consistency.SERIALIZABLE).thenApply(Response::getRangeList);
  }

  /** Splits the range holding {@code key} at {@code key}; completes with the ranges after it. */
  public CompletableFuture<io.flotilla.client.proto.RangeListResult> splitRange(byte[] key) {
    return write(Request.newBuilder().setRangeSplit(io.flotilla.client.proto.RangeSplitRequest.newBuilder()
        .setKey(bytes(key))), true).thenApply(r -> {
          rangeCache.invalidate();
          return r.getRangeSplit();
        });
  }

  /** Hands range {@code rangeId}'s leadership to node {@code target} (0: its most caught-up follower). */
  public CompletableFuture<Long> transferRangeLeader(long rangeId, long target) {
    return write(Request.newBuilder().setRangeTransferLeader(io.flotilla.client.proto.RangeTransferLeaderRequest
        .newBuilder().setRangeId(rangeId).setTarget(target)), true).thenApply(r -> r.getRangeTransferLeader().getLeaderId());
  }

  /** Hands leadership to {@code target} (0: the most caught-up follower); completes with the new leader. */
  public CompletableFuture<Long> transferLeader(long target) {
    return write(Request.newBuilder().setTransferLeader(
        io.flotilla.client.proto.TransferLeaderRequest.newBuilder().setTarget(target)), true)
        .thenApply(r -> r.getTransferLeader().getLeaderId());
  }

  /**
   * Sends {@code request} once to the node at {@code endpoint} and completes with its answer under
   * the caller's request id (on the wire it carries one of this client's). No retry, no redirect:
   * for a node handing a request it does not serve to the node that does. Fails with a
   * {@link FlotillaException}: UNAVAILABLE when the request certainly never left, TIMEOUT with
   * {@link FlotillaException#outcomeUnknown()} when it may have reached the node.
   */
  public CompletableFuture<Response> forward(Endpoint endpoint, Request request) {
    long callerId = request.getRequestId();
    CompletableFuture<Response> out = new CompletableFuture<>();
    router.connectionFor(endpoint.toString()).send(request).whenComplete((r, t) -> {
      if (t == null) {
        out.complete(r.toBuilder().setRequestId(callerId).setForwarded(true).build());
      } else {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        out.completeExceptionally(c instanceof NodeConnection.NotSentException
            ? new FlotillaException(Error.Code.UNAVAILABLE, "not sent to " + endpoint + ": " + c.getMessage(), false)
            : new FlotillaException(Error.Code.TIMEOUT, "no answer from " + endpoint + ": " + c, true));
      }
    });
    return out;
  }

  /**
   * Status of the node at {@code endpoint} (no redirect: you asked that node). Fails with
   * TIMEOUT once one attempt goes unanswered for the attempt timeout: asking the same silent
   * node again until the deadline would tell nothing more.
   */
  public CompletableFuture<StatusResult> status(Endpoint endpoint) {
    NodeConnection c = router.connectionFor(endpoint.toString());
    return new Call(Request.newBuilder().setStatus(StatusRequest.getDefaultInstance()).build(),
        false, Consistency.SERIALIZABLE, null, null, c).start().thenApply(Response::getStatus);
  }

  // ---------------------------------------------------------------------------------- engine

  private CompletableFuture<Response> write(Request.Builder b) {
    return write(b, null);
  }

  /** An admin request: goes to the leader like a write, never under a session. */
  private CompletableFuture<Response> write(Request.Builder b, boolean admin) {
    return new Call(b.setTimeoutMs((int) options.requestTimeout().toMillis()).build(), true,
        Consistency.LINEARIZABLE, null, null, null).start();
  }

  private CompletableFuture<Response> write(Request.Builder b, Error.Code alsoOk) {
    SessionPool.Session s = options.sessions() ? sessions.acquire() : null;
    if (s != null) {
      b.setClientId(s.clientId).setSequence(s.next());
    }
    Call call = new Call(b.setTimeoutMs((int) options.requestTimeout().toMillis()).build(), true,
        Consistency.LINEARIZABLE, alsoOk, s, null);
    return call.start();
  }

  private CompletableFuture<Response> read(Request.Builder b, Consistency c) {
    return new Call(b.setTimeoutMs((int) options.requestTimeout().toMillis()).build(), false, c,
        null, null, null).start();
  }

  private static ByteString bytes(byte[] b) {
    return b == null ? ByteString.EMPTY : ByteString.copyFrom(b);
  }

  /** One logical call and its retries, until an answer or the deadline. */
  private final class Call {
    Request request;
    final boolean isWrite;
    final Consistency consistency;
    final Error.Code alsoOk;
    SessionPool.Session session;
    final NodeConnection pinned;
    final long deadline;
    final CompletableFuture<Response> result = new CompletableFuture<>();
    /** Set once, by whichever of succeed or fail decides the outcome first. */
    final java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
    int attempt;
    private static final int NEW = 0;
    private static final int WRITTEN = 1;
    private static final int ABANDONED = 2;
    /**
     * Position of the walk over all nodes while the leader is unknown. Separate from
     * {@link #attempt}: hops to a leader hint count as attempts, and with a shared counter a hint
     * that cannot be reached (a name this client cannot resolve, say) could make the walk skip
     * the same endpoint forever.
     */
    int walk;
    /**
     * A write was handed to a connection at least once without a definite answer for that
     * attempt: its outcome is unknown from here on unless a later answer settles it.
     */
    volatile boolean maybeApplied;
    /** {@link #maybeApplied} before the current attempt, restored when that attempt proves moot. */
    volatile boolean maybeAppliedBeforeAttempt;
    /**
     * Whether the current attempt reached the wire: NEW until the connection is about to write it
     * (then WRITTEN) or the call gives up on it first (then ABANDONED, and it is never written).
     * Deciding this with one compare-and-set makes "certainly not applied" exact even when a
     * deadline and a slow connect race. Null once an answer settled the attempt.
     */
    volatile java.util.concurrent.atomic.AtomicInteger attemptState;
    NodeConnection target;
    /** The current attempt went to the leader of the key's range, from the range cache. */
    boolean routedByRange;
    /** The next attempt goes where the last one did (it answered, and it serves the key). */
    boolean sameTarget;

    Call(Request request, boolean isWrite, Consistency consistency, Error.Code alsoOk,
        SessionPool.Session session, NodeConnection pinned) {
      this.request = request;
      this.isWrite = isWrite;
      this.consistency = consistency;
      this.alsoOk = alsoOk;
      this.session = session;
      this.pinned = pinned;
      this.deadline = System.nanoTime() + options.requestTimeout().toNanos();
    }

    CompletableFuture<Response> start() {
      group.schedule(this::expire, options.requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
      send();
      return result;
    }

    private void send() {
      if (finished.get()) {
        return;
      }
      target = pickTarget();
      settleAttempt();
      maybeAppliedBeforeAttempt = maybeApplied;
      // Once written, a write may reach the node and be applied even if no answer ever comes
      // back; only a definite answer (or proof it was never written) takes that back.
      java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger(NEW);
      attemptState = state;
      NodeConnection to = target;
      CompletableFuture<Response> attemptDone = to.send(request, () -> state.compareAndSet(NEW, WRITTEN));
      // A frozen node (SIGSTOP, a long GC) accepts the request and never answers: give up on
      // this attempt and try elsewhere. Reads have no effect; a write under a session is
      // retried with the same (client id, sequence), so the cluster applies it at most once.
      router.watch(to, attemptDone, !isWrite || session != null);
      attemptDone.whenComplete(this::onAnswer);
    }

    private NodeConnection pickTarget() {
      if (pinned != null) {
        return pinned;
      }
      if (sameTarget && target != null) {
        sameTarget = false;
        return target;
      }
      routedByRange = false;
      if (attempt == 0 && (isWrite || consistency == Consistency.LINEARIZABLE)) {
        // First try: the key's range leader, when the cache knows it. A retry routes the usual
        // way (a stale entry costs one forward or one redirect, never a wrong answer).
        String leader = rangeCache.leaderFor(request);
        if (leader != null) {
          NodeConnection c = router.connectionFor(leader);
          if (!c.avoided(System.nanoTime())) {
            routedByRange = true;
            return c;
          }
        }
      }
      return router.pick(isWrite, consistency, () -> walk++);
    }

    /** Accounts for the current attempt if no answer settled it: written means maybe applied. */
    private void settleAttempt() {
      var s = attemptState;
      attemptState = null;
      if (s != null && !s.compareAndSet(NEW, ABANDONED) && s.get() == WRITTEN) {
        maybeApplied |= isWrite;
      }
    }

    private void onAnswer(Response r, Throwable err) {
      if (finished.get()) {
        return;
      }
      if (r != null) {
        // An answer: the attempt was written, and the code below says what it means.
        attemptState = null;
        maybeApplied |= isWrite;
      }
      if (err != null) {
        Throwable cause = err instanceof CompletionException ? err.getCause() : err;
        router.forgetLeader(target);
        if (cause instanceof NodeConnection.NotSentException) {
          maybeApplied = maybeAppliedBeforeAttempt; // never reached the wire
          if (cause.getCause() instanceof NodeConnection.TlsRefusedException) {
            // Certificates do not fix themselves in a retry's pause: say so now.
            fail(Error.Code.TLS_REFUSED, cause.getMessage(), isWrite && maybeApplied);
            return;
          }
        }
        if (pinned != null && cause instanceof NodeRouter.AttemptTimeoutException) {
          fail(Error.Code.TIMEOUT, cause.getMessage(), false); // only a read is ever pinned
          return;
        }
        if (cause instanceof NodeConnection.ConnectionLostException) {
          maybeApplied |= isWrite;
          if (isWrite && session == null) {
            fail(Error.Code.TIMEOUT, "connection lost after sending the write; it may or may"
                + " not have been applied (enable sessions for safe retries)", true);
            return;
          }
        }
        retryLater(true);
        return;
      }
      if (r.getForwarded()) {
        rangeCache.rangesExist(); // the cluster has ranges led elsewhere: route by key from now on
      }
      if (!r.hasError() || r.getError().getCode() == alsoOk) {
        if (pinned == null && !routedByRange && (isWrite || consistency == Consistency.LINEARIZABLE)) {
          // Only the leader serves these: remember it, even when no NOT_LEADER hint named it
          // (members may be configured without client addresses, and then redirects carry none).
          router.rememberLeader(target);
        }
        succeed(r);
        return;
      }
      Error e = r.getError();
      if (e.getCode() == Error.Code.NOT_LEADER || e.getCode() == Error.Code.UNAVAILABLE) {
        maybeApplied = maybeAppliedBeforeAttempt; // the node says this attempt was not applied
      }
      switch (e.getCode()) {
        case NOT_LEADER -> {
          if (!e.getLeaderHint().isEmpty()) {
            router.follow(e.getLeaderHint());
            attempt++;
            send();
          } else {
            router.forgetLeader(target);
            retryLater(false);
          }
        }
        case UNAVAILABLE -> retryLater(true);
        case SESSION_EXPIRED -> {
          if (session == null) {
            fail(e.getCode(), e.getMessage(), false);
            return;
          }
          if (maybeAppliedBeforeAttempt) {
            // An earlier attempt under this session may have been applied before the session
            // expired: renumbering now could apply the write twice.
            fail(Error.Code.TIMEOUT, "the session expired while an earlier attempt was in doubt;"
                + " the write may or may not have been applied", true);
            return;
          }
          // The key's range has no record of this session: it forgot it, or (with many ranges,
          // each keeping its own sessions) never saw it. Either way the write was not applied,
          // so it registers the same session with that range (sequence 1) and goes again to the
          // node that answered. A fresh session instead would be unknown to every other range
          // and pay this round trip again at each of them. Sequence 1 refused too cannot happen
          // with a real node; a fresh session then, rather than a loop.
          if (request.getSequence() == 1) {
            session = sessions.acquireFresh();
            request = request.toBuilder().setClientId(session.clientId).setSequence(session.next()).build();
          } else {
            request = request.toBuilder().setSequence(1).build();
            sameTarget = true;
          }
          attempt++;
          send();
        }
        case NODE_UNAVAILABLE -> {
          router.forgetLeader(target);
          retryLater(true);
        }
        case TIMEOUT -> {
          maybeApplied |= isWrite;
          if (isWrite && session == null) {
            fail(e.getCode(), e.getMessage(), true);
          } else {
            retryLater(false);
          }
        }
        // The request's own errors say it was not applied; INTERNAL, UNKNOWN and codes newer than
        // this client do not, so for a write they leave the outcome open (docs/protocol.md,
        // "Errors"), as does an earlier attempt that may have been applied.
        default -> fail(e.getCode(), e.getMessage(), isWrite && (maybeAppliedBeforeAttempt
            || e.getCode() == Error.Code.INTERNAL || e.getCode() == Error.Code.UNKNOWN
            || e.getCode() == Error.Code.UNRECOGNIZED));
      }
    }

    private void retryLater(boolean backoff) {
      attempt++;
      if (!backoff && attempt < 3) {
        send();
        return;
      }
      long min = options.backoffMin().toNanos();
      long max = options.backoffMax().toNanos();
      long pause = Math.min(max, min << Math.min(20, Math.max(0, attempt - 1)));
      pause = pause / 2 + ThreadLocalRandom.current().nextLong(pause / 2 + 1);
      if (System.nanoTime() + pause >= deadline) {
        expire();
        return;
      }
      group.schedule(this::send, pause, TimeUnit.NANOSECONDS);
    }

    private void expire() {
      if (!finished.get()) {
        settleAttempt();
        fail(Error.Code.TIMEOUT, "no answer within " + options.requestTimeout().toMillis() + " ms"
            + (isWrite && maybeApplied ? "; the write may or may not have been applied" : ""),
            isWrite && maybeApplied);
      }
    }

    /**
     * The session goes back to the pool before the caller hears the outcome: a caller that waits
     * for this write and then writes again must get the same session, not a fresh one (a session
     * per write would grow the cluster's session table, and exactly-once after a retry depends on
     * which session a write carries). {@link #finished} makes the two steps one decision.
     */
    private void succeed(Response r) {
      if (finished.compareAndSet(false, true)) {
        if (session != null) {
          sessions.release(session);
        }
        result.complete(r);
      }
    }

    private void fail(Error.Code code, String message, boolean outcomeUnknown) {
      if (finished.compareAndSet(false, true)) {
        if (session != null && !outcomeUnknown) {
          sessions.release(session);
        }
        result.completeExceptionally(new FlotillaException(code, message, outcomeUnknown));
      }
    }
  }

  @Override
  public void close() {
    for (NodeConnection c : router.all()) {
      c.close();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
