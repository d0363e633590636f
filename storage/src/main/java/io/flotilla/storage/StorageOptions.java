package io.flotilla.storage;

/**
 * Limits and knobs of the state machine. Every replica of a group must use the same values: they
 * decide results (TOO_LARGE) and session expiry, which must be identical on all replicas.
 *
 * @param maxKeyBytes          largest key accepted; keys are also never empty
 * @param maxValueBytes        largest value accepted
 * @param maxTxnOps            most compares + success ops + failure ops in one TXN
 * @param sessionExpiryEntries a session not advanced for more than this many log entries is removed
 */
public record StorageOptions(int maxKeyBytes, int maxValueBytes, int maxTxnOps, long sessionExpiryEntries) {

  public static final int DEFAULT_MAX_KEY_BYTES = 4 * 1024;
  /** No key is longer, whatever the options: a range's unbounded end is cleared up to past it. */
  public static final int MAX_KEY_LIMIT = 64 * 1024;
  public static final int DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
  public static final int DEFAULT_MAX_TXN_OPS = 128;
  public static final long DEFAULT_SESSION_EXPIRY_ENTRIES = 1_000_000L;

  public StorageOptions {
    if (maxKeyBytes < 1 || maxKeyBytes > MAX_KEY_LIMIT) {
      throw new IllegalArgumentException("maxKeyBytes must be within [1, " + MAX_KEY_LIMIT + "]: " + maxKeyBytes);
    }
    if (maxValueBytes < 0) {
      throw new IllegalArgumentException("maxValueBytes must be >= 0: " + maxValueBytes);
    }
    if (maxTxnOps < 1) {
      throw new IllegalArgumentException("maxTxnOps must be >= 1: " + maxTxnOps);
    }
    if (sessionExpiryEntries < 1) {
      throw new IllegalArgumentException("sessionExpiryEntries must be >= 1: " + sessionExpiryEntries);
    }
  }

  public static StorageOptions defaults() {
    return new StorageOptions(DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES, DEFAULT_MAX_TXN_OPS,
        DEFAULT_SESSION_EXPIRY_ENTRIES);
  }

  public StorageOptions withSessionExpiryEntries(long entries) {
    return new StorageOptions(maxKeyBytes, maxValueBytes, maxTxnOps, entries);
  }
}
