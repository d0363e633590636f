package io.flotilla.storage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Key layout of the {@code meta} and {@code sessions} column families. */
final class Keys {

  static final String CF_META = "meta";
  static final String CF_SESSIONS = "sessions";

  /** meta: 16 bytes, applied index then applied term, both big-endian. */
  static final byte[] META_APPLIED = "applied".getBytes(StandardCharsets.US_ASCII);

  /** meta: "member/" + big-endian id → a MemberInfo. */
  static final byte[] META_MEMBER_PREFIX = "member/".getBytes(StandardCharsets.US_ASCII);

  private Keys() {}

  static byte[] memberKey(long id) {
    return ByteBuffer.allocate(META_MEMBER_PREFIX.length + Long.BYTES).put(META_MEMBER_PREFIX).putLong(id).array();
  }

  static byte[] clientKey(long clientId) {
    return ByteBuffer.allocate(Long.BYTES).putLong(clientId).array();
  }

  static long clientId(byte[] key) {
    if (key.length != Long.BYTES) {
      throw new StorageFailure("sessions key of length " + key.length);
    }
    return ByteBuffer.wrap(key).getLong();
  }

  static byte[] appliedValue(long index, long term) {
    return ByteBuffer.allocate(2 * Long.BYTES).putLong(index).putLong(term).array();
  }

  /** Returns {index, term}; {0, 0} for a fresh database. */
  static long[] parseApplied(byte[] value) {
    if (value == null) {
      return new long[] {0, 0};
    }
    if (value.length != 2 * Long.BYTES) {
      throw new StorageFailure("meta applied value of length " + value.length);
    }
    ByteBuffer b = ByteBuffer.wrap(value);
    return new long[] {b.getLong(), b.getLong()};
  }
}
