package io.flotilla.server.node;

/**
 * When a range's leader splits the range by itself (docs/ranges.md, "Splitting by itself").
 *
 * @param rangeMaxBytes a range larger than this (its approximate size on disk) is split into
 *                      pieces of about half of it; 0: never by size
 * @param loadQps       a range whose leader serves more requests per second than this for
 *                      {@code loadSeconds} seconds in a row is split at the median of the keys
 *                      it was asked for; 0: never by load
 * @param loadSeconds   how long the load must last
 * @param cooldownSeconds a range split less than this long ago is not split again by itself
 */
public record SplitPolicy(long rangeMaxBytes, long loadQps, int loadSeconds, int cooldownSeconds) {

  /** 64 MiB ranges (a range's snapshot is built in memory: keep them small); no split by load. */
  public static final SplitPolicy DEFAULT = new SplitPolicy(64L << 20, 0, 10, 10);

  /** Never splits by itself. */
  public static final SplitPolicy OFF = new SplitPolicy(0, 0, 10, 10);

  public SplitPolicy {
    if (rangeMaxBytes < 0 || loadQps < 0) {
      throw new IllegalArgumentException("range max bytes and load qps must be >= 0 (0: off): " + rangeMaxBytes
          + ", " + loadQps);
    }
    if (rangeMaxBytes > 0 && rangeMaxBytes < 4096) {
      throw new IllegalArgumentException("range max bytes must be at least 4096 (or 0: off): " + rangeMaxBytes);
    }
    if (loadSeconds < 1 || cooldownSeconds < 0) {
      throw new IllegalArgumentException("load seconds must be >= 1 and cooldown >= 0: " + loadSeconds + ", "
          + cooldownSeconds);
    }
  }

  public boolean enabled() {
    return rangeMaxBytes > 0 || loadQps > 0;
  }
}
