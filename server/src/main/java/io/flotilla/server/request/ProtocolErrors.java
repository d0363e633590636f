package io.flotilla.server.request;

import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.raft.ConfChangeError;
import io.flotilla.raft.RaftError;
import io.flotilla.raft.node.ConfChangeException;
import io.flotilla.raft.node.RaftException;
import io.flotilla.server.kv.KvTranslator;
import io.flotilla.server.membership.MemberDirectory;
import io.flotilla.server.store.Replica;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where a failed request becomes a protocol error (docs/protocol.md, "Errors"): Raft
 * errors, refused membership changes, deadlines and a stopped node each get the code that tells
 * the client what happened to its write and what to do next.
 */
final class ProtocolErrors {
  private static final Logger LOG = LoggerFactory.getLogger(ProtocolErrors.class);

  private final long self;
  private final MemberDirectory directory;

  ProtocolErrors(long self, MemberDirectory directory) {
    this.self = self;
    this.directory = directory;
  }

  /** The answer to {@code r}, which failed with {@code t} while {@code replica} served it. */
  Response fromFailure(Request r, Throwable t, Replica replica) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    long id = r.getRequestId();
    boolean write = KvTranslator.isWrite(r) || r.hasMemberChange();
    if (isFollowerRead(r) && c instanceof RaftException re && re.error() == RaftError.NOT_LEADER
        && re.leaderHint() == 0) {
      // A follower that knows no leader cannot get a read index: that is a passing state (an
      // election), not a redirect, since a FOLLOWER read may be served by any node.
      return KvTranslator.error(id, Error.Code.UNAVAILABLE, "node " + self
          + " knows no leader yet (an election may be in progress); retry, here or at another node");
    }
    if (c instanceof io.flotilla.client.FlotillaException fe) {
      // Forwarded to the node serving the request, and that failed: as that node's answer would.
      return KvTranslator.error(id, fe.code(), "forwarded: " + fe.getMessage());
    }
    if (c instanceof ConfChangeException ce) {
      if (ce.error() == ConfChangeError.NOT_LEADER) {
        return notLeader(id, ce.leaderHint());
      }
      return refusal(id, ce.error().retryable() ? Error.Code.UNAVAILABLE : Error.Code.INVALID_ARGUMENT,
          ce.error(), ce.getMessage() + (ce.error().retryable() ? "; not applied, retry" : ""));
    }
    if (c instanceof RaftException re) {
      return switch (re.error()) {
        case NOT_LEADER -> notLeader(id, re.leaderHint());
        case TRANSFER_IN_PROGRESS, OVERLOADED -> KvTranslator.error(id, Error.Code.UNAVAILABLE,
            re.error() + ": not applied, retry");
        case LEADERSHIP_LOST -> write
            ? KvTranslator.error(id, Error.Code.TIMEOUT, "leadership changed before the write"
                + " was acknowledged: it may or may not be applied")
            : KvTranslator.error(id, Error.Code.UNAVAILABLE, "leadership changed; retry the read");
      };
    }
    if (replica.raft().isStopped()) {
      // A storage failure or a broken invariant stopped the Raft driver: this node can no longer
      // serve; a write in flight may or may not have committed elsewhere.
      return KvTranslator.error(id, Error.Code.NODE_UNAVAILABLE, "node " + self
          + " stopped after a fatal error" + (write ? "; the write may or may not be applied" : ""));
    }
    if (c instanceof TimeoutException) {
      // TIMEOUT for reads too: the deadline passed, and retrying is the client's call (a read
      // changes nothing, so for it "may or may not be applied" is moot).
      return KvTranslator.error(id, Error.Code.TIMEOUT, write
          ? "deadline passed: the write may or may not be applied"
          : "deadline passed before the read could be served (nothing was changed)");
    }
    LOG.error("request {} failed inside node {}", id, self, c);
    return KvTranslator.error(id, Error.Code.INTERNAL, c.toString());
  }

  private static boolean isFollowerRead(Request r) {
    Consistency c = r.hasGet() ? r.getGet().getConsistency()
        : r.hasScan() ? r.getScan().getConsistency() : null;
    return c == Consistency.FOLLOWER;
  }

  /** A refused membership change: its reason both in the message and machine-readable. */
  private static Response refusal(long requestId, Error.Code code, ConfChangeError reason, String message) {
    String text = message.startsWith(reason.name()) ? message : reason.name() + ": " + message;
    return Response.newBuilder().setRequestId(requestId).setError(Error.newBuilder().setCode(code)
        .setMessage(text).setReason(reason.name())).build();
  }

  /** NOT_LEADER, with the leader's client address as the hint when this node knows it. */
  Response notLeader(long requestId, long leaderId) {
    Error.Builder e = Error.newBuilder().setCode(Error.Code.NOT_LEADER)
        .setMessage("node " + self + " is not the leader");
    String hint = directory.leaderHint(leaderId);
    if (hint != null) {
      e.setLeaderHint(hint);
    }
    return Response.newBuilder().setRequestId(requestId).setError(e).build();
  }
}
