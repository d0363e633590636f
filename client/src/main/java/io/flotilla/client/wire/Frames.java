package io.flotilla.client.wire;

import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.Response;
import io.netty.handler.codec.LengthFieldPrepender;

/**
 * Framing shared by client and server: a 4-byte big-endian length, then one protobuf message.
 * Both ends refuse frames above a limit before buffering them, so a bad length cannot make either
 * side allocate gigabytes, and buffer an incomplete frame only as its bytes arrive
 * ({@link FrameDecoder}). A zero-length frame carries no message: the peer port uses it as a ping.
 */
public final class Frames {
  /** Length prefix size. */
  public static final int LENGTH_BYTES = 4;
  /**
   * Default largest frame: a 1 MiB value plus a 4 KiB key and protobuf overhead fit easily; a
   * transaction of several large values may not, and is refused with TOO_LARGE.
   */
  public static final int DEFAULT_MAX_FRAME_BYTES = 2 << 20;

  private Frames() {}

  /**
   * Splits the byte stream into frames, stripping the length; fails fast on oversized ones. No
   * budget beyond the frame limit and no timeout: for a client reading its server's answers.
   */
  public static FrameDecoder decoder(int maxFrameBytes) {
    return new FrameDecoder(maxFrameBytes, InputBudget.unlimited(), 0);
  }

  /** As {@link #decoder(int)}, sharing {@code budget} and failing frames older than the timeout. */
  public static FrameDecoder decoder(int maxFrameBytes, InputBudget budget, long frameTimeoutMs) {
    return new FrameDecoder(maxFrameBytes, budget, frameTimeoutMs);
  }

  public static LengthFieldPrepender prepender() {
    return new LengthFieldPrepender(LENGTH_BYTES);
  }

  /** An error response for {@code requestId} (0 when the request could not be read at all). */
  public static Response error(long requestId, Error.Code code, String message) {
    return Response.newBuilder()
        .setRequestId(requestId)
        .setError(Error.newBuilder().setCode(code).setMessage(message))
        .build();
  }
}
