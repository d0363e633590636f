package io.flotilla.wal;

import java.util.List;
import java.util.Map;

/**
 * What opening the log found and did.
 *
 * @param segments          segment files in use after recovery
 * @param firstIndex        first readable index of the own group (compaction point + 1 when its
 *                          log is empty; 1 for a shared log)
 * @param lastIndex         last index of the own group recovered (0 for a shared log)
 * @param tornBytes         bytes of a torn final write cut from the last segment (0 = clean)
 * @param repaired          true when {@link WalOptions#withRepair()} cut the log at corruption
 * @param firstLostIndex    with repair: the first index that was dropped (0 when none)
 * @param lostBytes         with repair: bytes dropped at and after the damage, across segments
 * @param cut               entries this open cut that may have been forced (a torn tail, a
 *                          torn segment creation with bytes behind it, or repair), as also saved in
 *                          the hard state; {@link RecoveryCut#NONE} when nothing was cut
 * @param events            one line per action taken, for the operator's log
 * @param groupCuts         the cut this open made in each group's log (groups without one are
 *                          absent); the fields above are the log's own group's
 */
public record RecoveryReport(
    int segments,
    long firstIndex,
    long lastIndex,
    long tornBytes,
    boolean repaired,
    long firstLostIndex,
    long lostBytes,
    RecoveryCut cut,
    List<String> events,
    Map<Long, RecoveryCut> groupCuts) {
  public RecoveryReport {
    java.util.Objects.requireNonNull(cut, "cut");
    events = List.copyOf(events);
    groupCuts = Map.copyOf(groupCuts);
  }
}
