package io.flotilla.server.kv;

import com.google.protobuf.ByteString;
import io.flotilla.client.proto.CasRequest;
import io.flotilla.client.proto.CasResult;
import io.flotilla.client.proto.Compare;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.DeleteResult;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetResult;
import io.flotilla.client.proto.IncrResult;
import io.flotilla.client.proto.KeyValue;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.PutResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.ScanResult;
import io.flotilla.client.proto.TxnOp;
import io.flotilla.client.proto.TxnRequest;
import io.flotilla.client.proto.TxnResult;
import io.flotilla.storage.KvPair;
import io.flotilla.storage.StorageOptions;
import io.flotilla.storage.proto.Cas;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Delete;
import io.flotilla.storage.proto.Incr;
import io.flotilla.storage.proto.Op;
import io.flotilla.storage.proto.Put;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.Txn;
import java.util.Optional;

/**
 * Between the client protocol and the state machine's commands. Writes become {@link Command}s,
 * checked against the same limits the state machine enforces, so a request that could only fail
 * is refused here instead of costing a Raft round; {@link Result}s become {@link Response}s.
 *
 * <p>The state machine still re-checks everything when applying (it must be deterministic even
 * for commands that did not come through here); this class is a fast path, not the authority.
 */
public final class KvTranslator {
  /** Pairs in a scan page when the request's limit is 0. */
  public static final int SCAN_DEFAULT_LIMIT = 1000;
  /** The most pairs a scan page holds, whatever the request's limit. */
  public static final int SCAN_MAX_LIMIT = 10_000;
  /**
   * Key and value bytes in a scan page (its first pair always goes in). A page ends before the
   * pair that would pass this, so with keys up to 4 KiB and values up to 1 MiB every response
   * fits the 2 MiB frame limit, which holds in both directions (protocol.md).
   */
  public static final long SCAN_PAGE_BYTES = 1 << 20;

  private final StorageOptions limits;

  public KvTranslator(StorageOptions limits) {
    this.limits = limits;
  }

  /** A validated write command, or the error response to send instead. */
  public sealed interface Translated permits Proposal, Refusal {}

  public record Proposal(Command command) implements Translated {}

  public record Refusal(Response response) implements Translated {}

  public static boolean isWrite(Request r) {
    return switch (r.getOpCase()) {
      case PUT, DELETE, CAS, INCR, TXN -> true;
      default -> false;
    };
  }

  public Translated toCommand(Request r) {
    Command.Builder c = Command.newBuilder().setClientId(r.getClientId())
        .setSequence(r.getSequence());
    try {
      switch (r.getOpCase()) {
        case PUT -> {
          checkKey(r.getPut().getKey());
          checkValue(r.getPut().getValue());
          c.setPut(put(r.getPut()));
        }
        case DELETE -> {
          checkKey(r.getDelete().getKey());
          c.setDelete(Delete.newBuilder().setKey(r.getDelete().getKey()));
        }
        case CAS -> {
          CasRequest cas = r.getCas();
          checkKey(cas.getKey());
          checkValue(cas.getExpected());
          checkValue(cas.getNewValue());
          if (cas.getExpectAbsent() && !cas.getExpected().isEmpty()) {
            // Two expectations that cannot both hold: refuse rather than pick one silently.
            throw new Invalid(Error.Code.INVALID_ARGUMENT, "cas with expect_absent and a non-empty"
                + " expected is ambiguous: set one of them");
          }
          Cas.Builder b = Cas.newBuilder().setKey(cas.getKey()).setNewValue(cas.getNewValue());
          if (cas.getExpectAbsent()) {
            b.setExpectAbsent(true);
          } else {
            b.setExpectedValue(cas.getExpected());
          }
          c.setCas(b);
        }
        case INCR -> {
          checkKey(r.getIncr().getKey());
          c.setIncr(Incr.newBuilder().setKey(r.getIncr().getKey()).setDelta(r.getIncr().getDelta()));
        }
        case TXN -> c.setTxn(txn(r.getTxn()));
        default -> throw new Invalid(Error.Code.INVALID_ARGUMENT, "not a write: " + r.getOpCase());
      }
    } catch (Invalid e) {
      return new Refusal(error(r.getRequestId(), e.code, e.getMessage()));
    }
    return new Proposal(c.build());
  }

  /** The client's view of one applied command's result. */
  public Response toResponse(long requestId, Result result) {
    Response.Builder b = Response.newBuilder().setRequestId(requestId);
    switch (result.getOutcomeCase()) {
      case PUT -> b.setPut(PutResult.getDefaultInstance());
      case DELETE -> b.setDelete(DeleteResult.newBuilder()
          .setExisted(result.getDelete().getExisted()));
      case CAS -> {
        var cas = result.getCas();
        CasResult.Builder cr = CasResult.newBuilder().setSwapped(cas.getSucceeded());
        if (!cas.getSucceeded()) {
          cr.setFound(cas.hasCurrentValue()).setCurrent(cas.getCurrentValue());
          b.setError(Error.newBuilder().setCode(Error.Code.CAS_FAILED)
              .setMessage("comparison failed"));
        }
        b.setCas(cr);
      }
      case INCR -> b.setIncr(IncrResult.newBuilder().setValue(result.getIncr().getValue()));
      case TXN -> b.setTxn(TxnResult.newBuilder().setSucceeded(result.getTxn().getSucceeded()));
      case ERROR -> b.setError(Error.newBuilder().setCode(code(result.getError().getCode()))
          .setMessage(result.getError().getMessage()));
      default -> b.setError(Error.newBuilder().setCode(Error.Code.INTERNAL)
          .setMessage("unexpected state-machine outcome " + result.getOutcomeCase()));
    }
    return b.build();
  }

  public Response getResponse(long requestId, Optional<byte[]> value) {
    GetResult.Builder g = GetResult.newBuilder().setFound(value.isPresent());
    value.ifPresent(v -> g.setValue(ByteString.copyFrom(v)));
    return Response.newBuilder().setRequestId(requestId).setGet(g).build();
  }

  public Response scanResponse(long requestId, io.flotilla.storage.ScanResult scan) {
    ScanResult.Builder s = ScanResult.newBuilder();
    for (KvPair p : scan.entries()) {
      s.addEntries(KeyValue.newBuilder().setKey(ByteString.copyFrom(p.key()))
          .setValue(ByteString.copyFrom(p.value())));
    }
    if (scan.continuationKey() != null) {
      s.setContinuation(ByteString.copyFrom(scan.continuationKey()));
    }
    return Response.newBuilder().setRequestId(requestId).setScan(s).build();
  }

  /** Checks a read's key; empty when fine, else the error response. */
  public Optional<Response> checkRead(Request r) {
    try {
      if (r.hasGet()) {
        checkKey(r.getGet().getKey());
      }
      int consistency = r.hasGet() ? r.getGet().getConsistencyValue() : r.getScan().getConsistencyValue();
      if (Consistency.forNumber(consistency) == null) {
        // Served as if it were some known level, an unknown value could be weaker than the
        // client meant (a newer client's level, say): refuse it instead.
        throw new Invalid(Error.Code.INVALID_ARGUMENT, "unknown consistency " + consistency
            + "; expected LINEARIZABLE (0), FOLLOWER (1) or SERIALIZABLE (2)");
      }
      return Optional.empty();
    } catch (Invalid e) {
      return Optional.of(error(r.getRequestId(), e.code, e.getMessage()));
    }
  }

  public static Response error(long requestId, Error.Code code, String message) {
    return Response.newBuilder().setRequestId(requestId)
        .setError(Error.newBuilder().setCode(code).setMessage(message)).build();
  }

  private Txn.Builder txn(TxnRequest t) throws Invalid {
    int ops = t.getComparesCount() + t.getSuccessCount() + t.getFailureCount();
    if (ops > limits.maxTxnOps()) {
      throw new Invalid(Error.Code.TOO_LARGE, "transaction has " + ops + " compares and ops; the"
          + " limit is " + limits.maxTxnOps());
    }
    Txn.Builder b = Txn.newBuilder();
    for (Compare cmp : t.getComparesList()) {
      checkKey(cmp.getKey());
      checkValue(cmp.getValue());
      io.flotilla.storage.proto.Compare.Target target = switch (cmp.getKind()) {
        case VALUE_EQUALS -> io.flotilla.storage.proto.Compare.Target.VALUE_EQUALS;
        case ABSENT -> io.flotilla.storage.proto.Compare.Target.ABSENT;
        case PRESENT -> io.flotilla.storage.proto.Compare.Target.PRESENT;
        default -> throw new Invalid(Error.Code.INVALID_ARGUMENT, "unknown compare kind");
      };
      b.addCompares(io.flotilla.storage.proto.Compare.newBuilder().setKey(cmp.getKey())
          .setTarget(target).setValue(cmp.getValue()));
    }
    for (TxnOp op : t.getSuccessList()) {
      b.addSuccess(op(op));
    }
    for (TxnOp op : t.getFailureList()) {
      b.addFailure(op(op));
    }
    return b;
  }

  private Op op(TxnOp op) throws Invalid {
    return switch (op.getOpCase()) {
      case PUT -> {
        checkKey(op.getPut().getKey());
        checkValue(op.getPut().getValue());
        yield Op.newBuilder().setPut(put(op.getPut())).build();
      }
      case DELETE -> {
        checkKey(op.getDelete().getKey());
        yield Op.newBuilder().setDelete(Delete.newBuilder().setKey(op.getDelete().getKey()))
            .build();
      }
      default -> throw new Invalid(Error.Code.INVALID_ARGUMENT, "transaction op without put or"
          + " delete");
    };
  }

  private static Put put(PutRequest p) {
    return Put.newBuilder().setKey(p.getKey()).setValue(p.getValue()).build();
  }

  private void checkKey(ByteString key) throws Invalid {
    if (key.isEmpty()) {
      throw new Invalid(Error.Code.INVALID_ARGUMENT, "empty key");
    }
    if (key.size() > limits.maxKeyBytes()) {
      throw new Invalid(Error.Code.TOO_LARGE, "key of " + key.size() + " bytes; the limit is "
          + limits.maxKeyBytes());
    }
  }

  private void checkValue(ByteString value) throws Invalid {
    if (value.size() > limits.maxValueBytes()) {
      throw new Invalid(Error.Code.TOO_LARGE, "value of " + value.size() + " bytes; the limit is "
          + limits.maxValueBytes());
    }
  }

  private static Error.Code code(io.flotilla.storage.proto.Error.Code c) {
    return switch (c) {
      case INVALID_ARGUMENT -> Error.Code.INVALID_ARGUMENT;
      case TOO_LARGE -> Error.Code.TOO_LARGE;
      case NOT_A_COUNTER -> Error.Code.NOT_A_COUNTER;
      case OVERFLOW -> Error.Code.OVERFLOW;
      case SESSION_EXPIRED -> Error.Code.SESSION_EXPIRED;
      case STALE_SEQUENCE -> Error.Code.STALE_SEQUENCE;
      case SEQUENCE_REUSED -> Error.Code.SEQUENCE_REUSED;
      // The key's range split away (a retry at the range holding it now is safe: not applied).
      case KEY_OUT_OF_RANGE, STALE_EPOCH -> Error.Code.UNAVAILABLE;
      default -> Error.Code.INTERNAL;
    };
  }

  /** A request that fails validation; never escapes this class. */
  private static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;
    final Error.Code code;

    Invalid(Error.Code code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }
}
