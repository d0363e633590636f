package io.flotilla.server.request;

import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.membership.MemberDirectory;
import io.flotilla.server.membership.MembershipService;
import io.flotilla.server.net.RequestHandler;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.StorageOptions;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Client requests, as the client port hands them over (on a Netty thread: nothing here blocks):
 * routed to the replica of their group, writes proposed and answered with their own entry's
 * applied result, reads served at the consistency asked for, membership requests passed to the
 * leader's {@link MembershipService}; every failure mapped by {@link ProtocolErrors}.
 *
 * <ul>
 *   <li>{@code LINEARIZABLE} reads use ReadIndex on the leader; a follower answers NOT_LEADER.
 *   <li>{@code FOLLOWER} reads use a ReadIndex forwarded to the leader, then are served locally.
 *   <li>{@code SERIALIZABLE} reads are served from the local state at once.
 * </ul>
 */
public final class RequestService implements RequestHandler {
  /** A request's deadline when it sets none (docs/protocol.md, {@code timeout_ms}). */
  public static final long DEFAULT_TIMEOUT_MS = 5_000;

  private final long self;
  private final Store store;
  private final MembershipService membership;
  private final Supplier<StatusResult> status;
  private final ProtocolErrors errors;
  private final KvTranslator kv = new KvTranslator(StorageOptions.defaults());

  /** @param status this node's answer to a {@code status} request */
  public RequestService(long self, Store store, MembershipService membership, MemberDirectory directory,
      Supplier<StatusResult> status) {
    this.self = self;
    this.store = store;
    this.membership = membership;
    this.status = status;
    this.errors = new ProtocolErrors(self, directory);
  }

  @Override
  public CompletableFuture<Response> handle(Request r) {
    long id = r.getRequestId();
    long timeout = r.getTimeoutMs() > 0 ? r.getTimeoutMs() : DEFAULT_TIMEOUT_MS;
    Replica replica = route(r);
    CompletableFuture<Response> out;
    if (id == 0) {
      // 0 marks answers the server cannot attribute to a request (BAD_FRAME, TOO_LARGE): an
      // answer to a request numbered 0 could not be told from those.
      out = CompletableFuture.completedFuture(KvTranslator.error(0, Error.Code.INVALID_ARGUMENT,
          "request_id 0 is reserved for errors not tied to a request; number requests from 1"));
    } else if (!r.hasStatus() && membership.isRemoved()) {
      out = CompletableFuture.completedFuture(KvTranslator.error(id, Error.Code.NODE_UNAVAILABLE,
          "node " + self + " was removed from the cluster; use another member"));
    } else if (KvTranslator.isWrite(r)) {
      out = write(r, replica);
    } else if (r.hasGet() || r.hasScan()) {
      out = read(r, replica);
    } else if (r.hasMemberList() || r.hasTransferLeader() || r.hasMemberChange()) {
      out = replica.raft().isLeader() ? membership.handle(r)
          : CompletableFuture.completedFuture(errors.notLeader(id, replica.raft().leaderId()));
    } else if (r.hasStatus()) {
      out = CompletableFuture.completedFuture(Response.newBuilder().setRequestId(id).setStatus(status.get()).build());
    } else {
      out = CompletableFuture.completedFuture(KvTranslator.error(id, Error.Code.UNSUPPORTED,
          "unsupported op " + r.getOpCase()));
    }
    return out.orTimeout(timeout, TimeUnit.MILLISECONDS).exceptionally(t -> errors.fromFailure(r, t, replica));
  }

  /**
   * The replica that serves {@code r}. Requests name no group or key range yet: every key and the
   * membership belong to the one key-value group.
   */
  private Replica route(Request r) {
    return store.replica(Store.KV_GROUP_ID);
  }

  private CompletableFuture<Response> write(Request r, Replica replica) {
    KvTranslator.Translated t = kv.toCommand(r);
    if (t instanceof KvTranslator.Refusal refusal) {
      return CompletableFuture.completedFuture(refusal.response());
    }
    byte[] command = ((KvTranslator.Proposal) t).command().toByteArray();
    return replica.propose(command).thenApply(applied -> {
      if (applied.result() == null) {
        return KvTranslator.error(r.getRequestId(), Error.Code.INTERNAL,
            "the result of entry " + applied.index() + " was not kept");
      }
      return kv.toResponse(r.getRequestId(), applied.result());
    });
  }

  private CompletableFuture<Response> read(Request r, Replica replica) {
    var bad = kv.checkRead(r);
    if (bad.isPresent()) {
      return CompletableFuture.completedFuture(bad.get());
    }
    Consistency c = r.hasGet() ? r.getGet().getConsistency() : r.getScan().getConsistency();
    if (c == Consistency.SERIALIZABLE) {
      return CompletableFuture.completedFuture(serveRead(r, replica.stateMachine()));
    }
    if (c == Consistency.LINEARIZABLE && !replica.raft().isLeader()) {
      return CompletableFuture.completedFuture(errors.notLeader(r.getRequestId(), replica.raft().leaderId()));
    }
    // LINEARIZABLE on the leader, FOLLOWER anywhere: ReadIndex (forwarded to the leader by a
    // follower), then serve locally once this node has applied that far. A FOLLOWER read on a node
    // that knows no leader fails here; ProtocolErrors answers it UNAVAILABLE, not NOT_LEADER.
    return replica.raft().linearizableRead().thenApply(readIndex -> serveRead(r, replica.stateMachine()));
  }

  private Response serveRead(Request r, KvStateMachine sm) {
    if (r.hasGet()) {
      return kv.getResponse(r.getRequestId(), sm.get(r.getGet().getKey().toByteArray()));
    }
    var scan = r.getScan();
    int limit = scan.getLimit() == 0 ? KvTranslator.SCAN_DEFAULT_LIMIT
        : Math.min(scan.getLimit(), KvTranslator.SCAN_MAX_LIMIT);
    return kv.scanResponse(r.getRequestId(), sm.scan(scan.getStart().toByteArray(),
        scan.getEnd().toByteArray(), limit, KvTranslator.SCAN_PAGE_BYTES));
  }
}
