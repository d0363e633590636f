package io.flotilla.storage;

import com.google.protobuf.ByteString;
import io.flotilla.storage.proto.Cas;
import io.flotilla.storage.proto.CasResult;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Compare;
import io.flotilla.storage.proto.Delete;
import io.flotilla.storage.proto.DeleteResult;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.Incr;
import io.flotilla.storage.proto.IncrResult;
import io.flotilla.storage.proto.Op;
import io.flotilla.storage.proto.OpResult;
import io.flotilla.storage.proto.Put;
import io.flotilla.storage.proto.PutResult;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.Txn;
import io.flotilla.storage.proto.TxnResult;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The semantics of each operation, as a pure function of (user data view, command). Every command
 * is validated completely before its first write, so an error Result never comes with a state
 * change. No clock, no randomness, no iteration over unordered collections: every replica gets the
 * same Result bytes.
 */
final class CommandExecutor {

  private static final PutResult PUT_OK = PutResult.getDefaultInstance();

  private final StorageOptions options;

  CommandExecutor(StorageOptions options) {
    this.options = options;
  }

  /** Executes the operation of {@code command} (sessions are handled by the caller). */
  Result execute(Command command, ColumnView data) {
    return switch (command.getOpCase()) {
      case PUT -> put(command.getPut(), data);
      case DELETE -> delete(command.getDelete(), data);
      case CAS -> cas(command.getCas(), data);
      case INCR -> incr(command.getIncr(), data);
      case TXN -> txn(command.getTxn(), data);
      case MEMBER, SPLIT, ALLOCATE_NODE_ID, PLACEMENT, ALLOCATE_RANGE_ID, PLACEMENT_SETTINGS -> throw new AssertionError("range bookkeeping is applied by RangeState");
      case OP_NOT_SET -> Results.error(Error.Code.INVALID_ARGUMENT, "command has no operation");
    };
  }

  private Result put(Put put, ColumnView data) {
    Result invalid = validatePut(put);
    if (invalid != null) {
      return invalid;
    }
    data.put(put.getKey().toByteArray(), put.getValue().toByteArray());
    return Result.newBuilder().setPut(PUT_OK).build();
  }

  private Result delete(Delete delete, ColumnView data) {
    Result invalid = validateKey(delete.getKey());
    if (invalid != null) {
      return invalid;
    }
    return Result.newBuilder().setDelete(doDelete(delete, data)).build();
  }

  private static DeleteResult doDelete(Delete delete, ColumnView data) {
    byte[] key = delete.getKey().toByteArray();
    boolean existed = data.get(key) != null;
    if (existed) {
      data.delete(key);
    }
    return DeleteResult.newBuilder().setExisted(existed).build();
  }

  private Result cas(Cas cas, ColumnView data) {
    Result invalid = validateKey(cas.getKey());
    if (invalid != null) {
      return invalid;
    }
    switch (cas.getExpectedCase()) {
      case EXPECT_ABSENT -> {
        if (!cas.getExpectAbsent()) {
          return Results.error(Error.Code.INVALID_ARGUMENT, "cas expect_absent must be true when set");
        }
      }
      case EXPECTED_VALUE -> {
        if (cas.getExpectedValue().size() > options.maxValueBytes()) {
          return tooLarge("cas expected value", cas.getExpectedValue().size(), options.maxValueBytes());
        }
      }
      case EXPECTED_NOT_SET -> {
        return Results.error(Error.Code.INVALID_ARGUMENT, "cas has no expectation");
      }
    }
    switch (cas.getUpdateCase()) {
      case NEW_VALUE -> {
        if (cas.getNewValue().size() > options.maxValueBytes()) {
          return tooLarge("value", cas.getNewValue().size(), options.maxValueBytes());
        }
      }
      case DELETE -> {
        if (!cas.getDelete()) {
          return Results.error(Error.Code.INVALID_ARGUMENT, "cas delete must be true when set");
        }
      }
      case UPDATE_NOT_SET -> {
        return Results.error(Error.Code.INVALID_ARGUMENT, "cas has no update");
      }
    }
    byte[] key = cas.getKey().toByteArray();
    byte[] current = data.get(key);
    boolean matches = cas.getExpectedCase() == Cas.ExpectedCase.EXPECT_ABSENT
        ? current == null
        : current != null && Arrays.equals(current, cas.getExpectedValue().toByteArray());
    CasResult.Builder result = CasResult.newBuilder().setSucceeded(matches);
    if (matches) {
      if (cas.getUpdateCase() == Cas.UpdateCase.NEW_VALUE) {
        data.put(key, cas.getNewValue().toByteArray());
      } else if (current != null) {
        data.delete(key);
      }
    } else if (current != null) {
      result.setCurrentValue(ByteString.copyFrom(current));
    }
    return Result.newBuilder().setCas(result).build();
  }

  private Result incr(Incr incr, ColumnView data) {
    Result invalid = validateKey(incr.getKey());
    if (invalid != null) {
      return invalid;
    }
    byte[] key = incr.getKey().toByteArray();
    byte[] current = data.get(key);
    long base = 0;
    if (current != null) {
      Long parsed = parseCounter(current);
      if (parsed == null) {
        return Results.error(Error.Code.NOT_A_COUNTER, "value is not a canonical decimal integer");
      }
      base = parsed;
    }
    long next;
    try {
      next = Math.addExact(base, incr.getDelta());
    } catch (ArithmeticException e) {
      return Results.error(Error.Code.OVERFLOW, "counter " + base + " + " + incr.getDelta() + " overflows");
    }
    data.put(key, Long.toString(next).getBytes(StandardCharsets.US_ASCII));
    return Result.newBuilder().setIncr(IncrResult.newBuilder().setValue(next)).build();
  }

  private Result txn(Txn txn, ColumnView data) {
    long ops = (long) txn.getComparesCount() + txn.getSuccessCount() + txn.getFailureCount();
    if (ops > options.maxTxnOps()) {
      return Results.error(Error.Code.TOO_LARGE, "txn has " + ops + " compares+ops, limit " + options.maxTxnOps());
    }
    for (Compare c : txn.getComparesList()) {
      Result invalid = validateCompare(c);
      if (invalid != null) {
        return invalid;
      }
    }
    for (List<Op> branch : List.of(txn.getSuccessList(), txn.getFailureList())) {
      for (Op op : branch) {
        Result invalid = switch (op.getOpCase()) {
          case PUT -> validatePut(op.getPut());
          case DELETE -> validateKey(op.getDelete().getKey());
          case OP_NOT_SET -> Results.error(Error.Code.INVALID_ARGUMENT, "txn op has no operation");
        };
        if (invalid != null) {
          return invalid;
        }
      }
    }
    boolean succeeded = true;
    for (Compare c : txn.getComparesList()) {
      if (!holds(c, data)) {
        succeeded = false;
        break;
      }
    }
    TxnResult.Builder result = TxnResult.newBuilder().setSucceeded(succeeded);
    for (Op op : succeeded ? txn.getSuccessList() : txn.getFailureList()) {
      if (op.getOpCase() == Op.OpCase.PUT) {
        data.put(op.getPut().getKey().toByteArray(), op.getPut().getValue().toByteArray());
        result.addResults(OpResult.newBuilder().setPut(PUT_OK));
      } else {
        result.addResults(OpResult.newBuilder().setDelete(doDelete(op.getDelete(), data)));
      }
    }
    return Result.newBuilder().setTxn(result).build();
  }

  private static boolean holds(Compare c, ColumnView data) {
    byte[] current = data.get(c.getKey().toByteArray());
    return switch (c.getTarget()) {
      case ABSENT -> current == null;
      case PRESENT -> current != null;
      case VALUE_EQUALS -> current != null && Arrays.equals(current, c.getValue().toByteArray());
      case TARGET_UNSPECIFIED, UNRECOGNIZED -> throw new AssertionError("validated: " + c.getTarget());
    };
  }

  private Result validateCompare(Compare c) {
    Result invalid = validateKey(c.getKey());
    if (invalid != null) {
      return invalid;
    }
    return switch (c.getTarget()) {
      case ABSENT, PRESENT -> c.getValue().isEmpty()
          ? null
          : Results.error(Error.Code.INVALID_ARGUMENT, "compare " + c.getTarget() + " takes no value");
      case VALUE_EQUALS -> c.getValue().size() > options.maxValueBytes()
          ? tooLarge("compare value", c.getValue().size(), options.maxValueBytes())
          : null;
      case TARGET_UNSPECIFIED, UNRECOGNIZED ->
          Results.error(Error.Code.INVALID_ARGUMENT, "compare has no valid target");
    };
  }

  private Result validatePut(Put put) {
    Result invalid = validateKey(put.getKey());
    if (invalid != null) {
      return invalid;
    }
    if (put.getValue().size() > options.maxValueBytes()) {
      return tooLarge("value", put.getValue().size(), options.maxValueBytes());
    }
    return null;
  }

  private Result validateKey(ByteString key) {
    if (key.isEmpty()) {
      return Results.error(Error.Code.INVALID_ARGUMENT, "key is empty");
    }
    if (key.size() > options.maxKeyBytes()) {
      return tooLarge("key", key.size(), options.maxKeyBytes());
    }
    return null;
  }

  private static Result tooLarge(String what, int size, int limit) {
    return Results.error(Error.Code.TOO_LARGE, what + " is " + size + " bytes, limit " + limit);
  }

  /**
   * Parses a canonical signed decimal: optional '-', no leading zeros, no '+', no "-0", fits a long.
   * Returns null for anything else.
   */
  static Long parseCounter(byte[] value) {
    int n = value.length;
    if (n == 0 || n > 20) {
      return null;
    }
    int start = value[0] == '-' ? 1 : 0;
    if (start == n) {
      return null;
    }
    for (int i = start; i < n; i++) {
      if (value[i] < '0' || value[i] > '9') {
        return null;
      }
    }
    if (value[start] == '0' && (n - start > 1 || start == 1)) {
      return null;
    }
    try {
      return Long.parseLong(new String(value, StandardCharsets.US_ASCII));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
