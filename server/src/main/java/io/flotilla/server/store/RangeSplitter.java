package io.flotilla.server.store;

import io.flotilla.server.node.SplitPolicy;
import io.flotilla.storage.RangeState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A range's leader splits the range by itself (docs/ranges.md, "Splitting by itself"), once a
 * second on a thread of its own (a size check may read a whole range):
 *
 * <ul>
 *   <li><b>by size</b>: a range over {@link SplitPolicy#rangeMaxBytes} is cut into pieces of about
 *       half that, all in one pass (a range far over the limit becomes many at once), right to
 *       left, each cut one split through the range's log;
 *   <li><b>by load</b>: a range whose leader served more than {@link SplitPolicy#loadQps} requests
 *       a second for {@link SplitPolicy#loadSeconds} seconds in a row is cut at the median of the
 *       keys it was asked for (a single hot key cannot be cut: it is left alone).
 * </ul>
 *
 * A range split less than {@link SplitPolicy#cooldownSeconds} ago is not split again by itself, so
 * a burst of load never cuts a range into slivers.
 */
public final class RangeSplitter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RangeSplitter.class);
  private static final int MAX_CUTS_PER_PASS = 16;

  private final long self;
  private final Store store;
  private final SplitPolicy policy;
  private final ScheduledExecutorService timer;
  /** On the timer thread only. */
  private final Map<Long, Load> load = new HashMap<>();
  /** Approximate size at which a range's last size scan found nothing to cut (size estimates count dead versions). */
  private final Map<Long, Long> scannedAt = new HashMap<>();
  /**
   * When a range's size was last read: what its leader had written by then, and how many bytes of
   * keys and values it held. It is read again once as much was written as would fill it up.
   */
  private final Map<Long, long[]> lastScan = new HashMap<>();
  /**
   * Ranges a size split of this node's made, read once after their cooldown: the first cut of a
   * pass makes the right-most piece, which holds all that a pass past {@value #MAX_CUTS_PER_PASS}
   * cuts did not cut.
   */
  private final Set<Long> scanNext = ConcurrentHashMap.newKeySet();
  private final Map<Long, Long> lastSplitNanos = new ConcurrentHashMap<>();
  private final Set<Long> splitting = ConcurrentHashMap.newKeySet();
  private final AtomicLong bySize = new AtomicLong();
  private final AtomicLong byLoad = new AtomicLong();

  private static final class Load {
    long served;
    long atNanos;
    int hotSeconds;
  }

  public RangeSplitter(long self, Store store, SplitPolicy policy) {
    this.self = self;
    this.store = store;
    this.policy = policy;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "range-splitter-" + self);
      t.setDaemon(true);
      return t;
    });
  }

  public void start() {
    if (policy.enabled()) {
      timer.scheduleWithFixedDelay(this::runSafely, 1, 1, TimeUnit.SECONDS);
    }
  }

  /** Splits this node made by size, and by load, since it started. */
  public long splitsBySize() {
    return bySize.get();
  }

  public long splitsByLoad() {
    return byLoad.get();
  }

  private void runSafely() {
    try {
      run();
    } catch (RuntimeException e) {
      LOG.warn("node {}: range split check failed: {}", self, e.toString());
    }
  }

  private void run() {
    long now = System.nanoTime();
    for (Replica r : store.replicas()) {
      long id = r.groupId();
      RangeState range = r.range();
      if (range == null || !r.raft().isLeader() || r.raft().isStopped() || r.raft().configuration().isJoint()
          || splitting.contains(id)) {
        load.remove(id);
        continue;
      }
      Long last = lastSplitNanos.get(id);
      boolean cooling = last != null && now - last < TimeUnit.SECONDS.toNanos(policy.cooldownSeconds());
      List<byte[]> cuts = cooling ? List.of() : sizeCuts(r, range);
      if (!cuts.isEmpty()) {
        split(r, cuts, "size", bySize);
        continue;
      }
      byte[] hot = loadCut(r, range, now);
      if (hot != null && !cooling) {
        split(r, List.of(hot), "load", byLoad);
      }
    }
  }

  /**
   * Cuts when the range is over the limit. RocksDB's size estimate decides when to read the range
   * (it counts dead versions, and its memtable part is a sample), and so does what this leader
   * wrote into it: once as much was written since the last read as would fill the range up, it is
   * read again, whatever the estimate.
   */
  private List<byte[]> sizeCuts(Replica r, RangeState range) {
    long max = policy.rangeMaxBytes();
    if (max == 0) {
      return List.of();
    }
    long id = r.groupId();
    long approx = range.approximateBytes();
    Long scanned = scannedAt.get(id);
    long written = r.writtenBytes();
    long[] last = lastScan.get(id);
    // Never read here (a range a cut made holds about half a limit): after half a limit written.
    boolean couldBeFull = scanNext.remove(id)
        || (last == null ? written >= max / 2 : written - last[0] >= max - last[1]);
    boolean estimate = approx > max && (scanned == null || approx >= scanned + scanned / 4);
    if (!couldBeFull && !estimate) {
      return List.of();
    }
    RangeState.Cuts found = range.cuts(max / 2, MAX_CUTS_PER_PASS);
    lastScan.put(id, new long[] {written, found.liveBytes()});
    List<byte[]> cuts = found.keys();
    if (cuts.isEmpty()) {
      scannedAt.put(id, approx); // mostly dead versions: look again once it grew by a quarter
    } else {
      scannedAt.remove(id);
    }
    return cuts;
  }

  /** The key to cut a range at that has been hot long enough, or null. */
  private byte[] loadCut(Replica r, RangeState range, long now) {
    if (policy.loadQps() == 0) {
      return null;
    }
    Load l = load.computeIfAbsent(r.groupId(), k -> new Load());
    long served = r.writesServed() + r.readsServed();
    double seconds = (now - l.atNanos) / 1e9;
    boolean first = l.atNanos == 0;
    double qps = first ? 0 : (served - l.served) / seconds;
    l.served = served;
    l.atNanos = now;
    l.hotSeconds = qps > policy.loadQps() ? l.hotSeconds + 1 : 0;
    if (l.hotSeconds < policy.loadSeconds()) {
      if (l.hotSeconds == 0) {
        r.takeSampledKeys(); // a quiet spell: the next hot one samples afresh
      }
      return null;
    }
    l.hotSeconds = 0;
    List<byte[]> keys = r.takeSampledKeys();
    if (keys.isEmpty()) {
      return null;
    }
    byte[] median = keys.get(keys.size() / 2);
    byte[] start = range.descriptor().getStartKey().toByteArray();
    if (Arrays.equals(median, start) || !range.contains(median)) {
      LOG.info("node {}: range {} is hot ({} requests/s) but its load centres on its first key: not split",
          self, r.groupId(), Math.round(qps));
      return null;
    }
    LOG.info("node {}: range {} served {} requests/s for {} s: splitting it at the median of its sampled keys",
        self, r.groupId(), Math.round(qps), policy.loadSeconds());
    return median;
  }

  /** Right to left, each cut one split of the same (shrinking) range, after the one before applied. */
  private void split(Replica r, List<byte[]> cuts, String reason, AtomicLong counter) {
    long id = r.groupId();
    splitting.add(id);
    List<byte[]> order = new ArrayList<>(cuts);
    order.sort((a, b) -> Arrays.compareUnsigned(b, a));
    LOG.info("node {}: splitting range {} by {} into {} pieces", self, id, reason, order.size() + 1);
    CompletableFuture<Boolean> chain = CompletableFuture.completedFuture(true);
    for (byte[] key : order) {
      chain = chain.thenCompose(ok -> !ok || !r.raft().isLeader() ? CompletableFuture.completedFuture(false)
          : store.proposeSplit(r, key).thenApply(result -> {
            if (result == null || result.hasError()) {
              LOG.info("node {}: split of range {} by {} not applied: {}", self, id, reason,
                  result == null ? "result not kept" : result.getError().getMessage());
              return false;
            }
            counter.incrementAndGet();
            // The new right-hand range cools down too: a hot range is not cut into slivers.
            long right = result.getSplit().getRight().getRangeId();
            lastSplitNanos.put(right, System.nanoTime());
            if (counter == bySize) {
              scanNext.add(right);
            }
            return true;
          }));
    }
    chain.whenComplete((ok, t) -> {
      if (t != null) {
        LOG.info("node {}: split of range {} by {} stopped: {}", self, id, reason, t.toString());
      }
      lastSplitNanos.put(id, System.nanoTime());
      splitting.remove(id);
    });
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
