package io.flotilla.storage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Key layout of the {@code meta} and {@code sessions} column families (docs/storage.md). Everything
 * a range owns besides its user keys is range-local: under {@code "range/" + id} in {@code meta}
 * (its descriptor, its applied index, the member records its log carries) and under its id in
 * {@code sessions}, so that one write batch can change a range's data and the state describing it,
 * and a range's snapshot is its key span plus these prefixes.
 */
final class Keys {

  static final String CF_META = "meta";
  static final String CF_SESSIONS = "sessions";

  private static final byte[] RANGE_PREFIX = "range/".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DESC = "/desc".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] APPLIED = "/applied".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MEMBER = "/member/".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NODE_IDS = "/node-ids".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] RANGE_IDS = "/range-ids".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PLACEMENT = "/placement/".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PLACEMENT_SETTINGS = "/placement-settings".getBytes(StandardCharsets.US_ASCII);

  private Keys() {}

  /** meta: every key of range {@code rangeId} starts with this. */
  static byte[] rangePrefix(long rangeId) {
    return ByteBuffer.allocate(RANGE_PREFIX.length + Long.BYTES).put(RANGE_PREFIX).putLong(rangeId).array();
  }

  /** The first key past every range-local meta key of {@code rangeId}. */
  static byte[] rangePrefixEnd(long rangeId) {
    return increment(rangePrefix(rangeId));
  }

  /** meta: the range's descriptor (a RangeDescriptor). */
  static byte[] descKey(long rangeId) {
    return concat(rangePrefix(rangeId), DESC);
  }

  /** meta: 16 bytes, the range's applied index then applied term, both big-endian. */
  static byte[] appliedKey(long rangeId) {
    return concat(rangePrefix(rangeId), APPLIED);
  }

  /** meta: a member record (MemberInfo) carried by the log of {@code rangeId}. */
  static byte[] memberKey(long rangeId, long memberId) {
    return ByteBuffer.allocate(RANGE_PREFIX.length + Long.BYTES + MEMBER.length + Long.BYTES)
        .put(RANGE_PREFIX).putLong(rangeId).put(MEMBER).putLong(memberId).array();
  }

  /** meta: 8 bytes, the largest node id this range's log handed out (AllocateNodeId). */
  static byte[] nodeIdsKey(long rangeId) {
    return concat(rangePrefix(rangeId), NODE_IDS);
  }

  /** meta: 8 bytes, the largest range id this range's log handed out (AllocateRangeId). */
  static byte[] rangeIdsKey(long rangeId) {
    return concat(rangePrefix(rangeId), RANGE_IDS);
  }

  /** meta: where range {@code target}'s replicas should be (a PlacementTarget), carried by {@code rangeId}'s log. */
  static byte[] placementKey(long rangeId, long target) {
    return ByteBuffer.allocate(RANGE_PREFIX.length + Long.BYTES + PLACEMENT.length + Long.BYTES)
        .put(RANGE_PREFIX).putLong(rangeId).put(PLACEMENT).putLong(target).array();
  }

  static byte[] placementPrefix(long rangeId) {
    return concat(rangePrefix(rangeId), PLACEMENT);
  }

  /** meta: the placement settings (PlacementSettings). */
  static byte[] placementSettingsKey(long rangeId) {
    return concat(rangePrefix(rangeId), PLACEMENT_SETTINGS);
  }

  /** The first key past every key starting with {@code prefix}. */
  static byte[] prefixEnd(byte[] prefix) {
    return increment(prefix);
  }

  static byte[] memberPrefix(long rangeId) {
    return concat(rangePrefix(rangeId), MEMBER);
  }

  /** Whether {@code key} (of meta) is a descriptor key, and of which range (-1 if not). */
  static long rangeOfDescKey(byte[] key) {
    int idLen = RANGE_PREFIX.length + Long.BYTES;
    if (key.length != idLen + DESC.length || !Arrays.equals(key, 0, RANGE_PREFIX.length, RANGE_PREFIX, 0,
        RANGE_PREFIX.length) || !Arrays.equals(key, idLen, key.length, DESC, 0, DESC.length)) {
      return -1;
    }
    return ByteBuffer.wrap(key, RANGE_PREFIX.length, Long.BYTES).getLong();
  }

  /** The meta keys of every descriptor start here. */
  static byte[] descScanStart() {
    return RANGE_PREFIX;
  }

  /** sessions: range id then client id, big-endian. */
  static byte[] sessionKey(long rangeId, long clientId) {
    return ByteBuffer.allocate(2 * Long.BYTES).putLong(rangeId).putLong(clientId).array();
  }

  static byte[] sessionPrefix(long rangeId) {
    return ByteBuffer.allocate(Long.BYTES).putLong(rangeId).array();
  }

  static byte[] sessionPrefixEnd(long rangeId) {
    return increment(sessionPrefix(rangeId));
  }

  static long clientId(byte[] key) {
    if (key.length != 2 * Long.BYTES) {
      throw new StorageFailure("sessions key of length " + key.length);
    }
    return ByteBuffer.wrap(key, Long.BYTES, Long.BYTES).getLong();
  }

  static byte[] appliedValue(long index, long term) {
    return ByteBuffer.allocate(2 * Long.BYTES).putLong(index).putLong(term).array();
  }

  /** Returns {index, term}; {0, 0} when absent. */
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

  /** Whether {@code key} starts with {@code prefix}. */
  static boolean hasPrefix(byte[] key, byte[] prefix) {
    return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** The smallest key greater than every key starting with {@code prefix} (a fixed-length id prefix). */
  private static byte[] increment(byte[] prefix) {
    byte[] out = prefix.clone();
    for (int i = out.length - 1; i >= 0; i--) {
      if (++out[i] != 0) {
        return out;
      }
    }
    throw new IllegalArgumentException("prefix of all 0xff has no successor");
  }
}
