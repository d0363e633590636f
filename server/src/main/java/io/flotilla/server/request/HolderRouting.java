package io.flotilla.server.request;

import io.flotilla.server.store.Store;
import io.flotilla.storage.proto.PlacementTarget;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where a key's range lives when this node holds no replica of it (docs/placement.md): the
 * placement records in the system range, which every member holds, name each range's span and
 * voters. A hint: the node asked checks the key against its own replica.
 */
final class HolderRouting {
  private HolderRouting() {}

  /** The nodes holding {@code key}'s range, its preferred leader first; empty when no record names it. */
  static List<Long> holders(Store store, byte[] key) {
    var system = store.replica(Store.KV_GROUP_ID);
    if (system == null || system.range() == null) {
      return List.of();
    }
    for (PlacementTarget t : system.range().placementTargets().values()) {
      if (contains(t, key)) {
        return order(t);
      }
    }
    return List.of();
  }

  /** The nodes holding range {@code rangeId}, its preferred leader first; empty when no record names it. */
  static List<Long> holders(Store store, long rangeId) {
    var system = store.replica(Store.KV_GROUP_ID);
    PlacementTarget t = system == null || system.range() == null ? null
        : system.range().placementTargets().get(rangeId);
    return t == null ? List.of() : order(t);
  }

  private static List<Long> order(PlacementTarget t) {
    List<Long> out = new ArrayList<>();
    if (t.getPreferredLeader() != 0) {
      out.add(t.getPreferredLeader());
    }
    t.getVotersList().stream().filter(n -> !out.contains(n)).forEach(out::add);
    return out;
  }

  static boolean contains(PlacementTarget t, byte[] key) {
    byte[] start = t.getStartKey().toByteArray();
    byte[] end = t.getEndKey().toByteArray();
    return Arrays.compareUnsigned(key, start) >= 0 && (end.length == 0 || Arrays.compareUnsigned(key, end) < 0);
  }
}
