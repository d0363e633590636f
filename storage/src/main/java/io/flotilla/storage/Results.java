package io.flotilla.storage;

import io.flotilla.storage.proto.AlreadyApplied;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.Noop;
import io.flotilla.storage.proto.Result;

/** Constructors for the shared {@link Result} values. */
public final class Results {

  public static final Result NOOP = Result.newBuilder().setNoop(Noop.getDefaultInstance()).build();
  public static final Result ALREADY_APPLIED =
      Result.newBuilder().setAlreadyApplied(AlreadyApplied.getDefaultInstance()).build();

  private Results() {}

  public static Result error(Error.Code code, String message) {
    return Result.newBuilder().setError(Error.newBuilder().setCode(code).setMessage(message)).build();
  }

  public static boolean isError(Result r, Error.Code code) {
    return r.hasError() && r.getError().getCode() == code;
  }
}
