package io.flotilla.server.placement;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The placement driver's decisions (docs/placement.md): a pure function from what the driver
 * knows (nodes and their state, every range's configuration as its leader reports it, the targets
 * already written, the settings) to new targets. No clocks, threads or I/O, so tests can drive it
 * round by round.
 *
 * <p>Each decision changes a range's target by at most one added and one removed voter; the
 * range's leader then adds the new node as a learner, promotes it once caught up, and only then
 * removes the old one (and hands leadership over first if it is the one leaving), so no move ever
 * takes a range below a majority of its voters. A range whose target differs from its
 * configuration is <em>pending</em>: it gets no new decision until it has converged, and its
 * nodes count towards the limit of concurrent moves per node.
 *
 * <p>Order of work each round: repairs (replicas on dead, decommissioning or departed nodes;
 * ranges below or above the replication factor), then replica counts (from the most to the least
 * loaded live node until they differ by at most one), then leader counts (by preferred leader).
 */
public final class Planner {
  private Planner() {}

  /** What the driver knows of a node. */
  public enum State {
    /** Reports arrive. */
    LIVE,
    /** No report for a few seconds: nothing moves to or from it yet. */
    SUSPECT,
    /** No report for {@code --dead-after}: its replicas are rebuilt elsewhere. */
    DEAD,
    /** Being drained ({@code node decommission}). */
    DECOMMISSIONING;

    boolean drained() {
      return this == DEAD || this == DECOMMISSIONING;
    }
  }

  public record Node(long id, State state) {}

  /** Where a range should be: its voters, and the node that should lead it (0: any). */
  public record Target(Set<Long> voters, long preferredLeader) {
    public Target {
      voters = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(voters)); // in id order: decisions repeat
    }
  }

  /**
   * A range as its leader reports it ({@code leader} 0: no leader known; nothing is decided for
   * it), with the target written for it (null: none yet).
   */
  public record Range(long id, Set<Long> voters, Set<Long> learners, long leader, Target target) {
    public Range {
      voters = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(voters));
      learners = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(learners));
    }

    /** Whether the target names a voter to lead the range that does not lead it yet. */
    boolean leaderTransferPending() {
      return target != null && target.preferredLeader() != 0 && target.preferredLeader() != leader
          && voters.contains(target.preferredLeader());
    }

    /** Whether a move is under way: the configuration is not the target yet. */
    boolean pending() {
      return target != null && (!target.voters().equals(voters) || !learners.isEmpty());
    }
  }

  public record Settings(int replicationFactor, int maxMovesPerNode) {
    public static final Settings DEFAULT = new Settings(3, 2);
  }

  /** A new target for range {@code rangeId}, and why. */
  public record Decision(long rangeId, Target target, String reason) {}

  /**
   * The decisions of one round. {@code nodes} are the cluster's members (a voter of a range on a
   * node not listed has left the cluster); {@code ranges} exclude the system range, which every
   * member holds.
   */
  public static List<Decision> plan(Collection<Node> nodes, Collection<Range> ranges, Settings settings) {
    Map<Long, State> state = new TreeMap<>();
    nodes.forEach(n -> state.put(n.id(), n.state()));
    Map<Long, Integer> replicas = new HashMap<>();
    Map<Long, Integer> leaders = new HashMap<>();
    Map<Long, Integer> moving = new HashMap<>();
    state.keySet().forEach(id -> {
      replicas.put(id, 0);
      leaders.put(id, 0);
      moving.put(id, 0);
    });
    List<Range> settled = new ArrayList<>();
    Set<Long> stuckIds = new HashSet<>();
    for (Range r : ranges) {
      Set<Long> planned = r.target() != null ? r.target().voters() : r.voters();
      planned.forEach(n -> replicas.merge(n, 1, Integer::sum));
      // A leader the driver asked for counts as there: the transfer is on its way.
      long leader = r.leaderTransferPending() ? r.target().preferredLeader() : r.leader();
      if (leader != 0) {
        leaders.merge(leader, 1, Integer::sum);
      }
      boolean stuck = r.pending() && r.target().voters().stream().anyMatch(n -> {
        State st = state.get(n);
        return st == null || st.drained();
      });
      if (stuck && r.leader() != 0) {
        // A move towards a node that died or is being drained meanwhile would never finish:
        // decided again from the range's configuration, like any range (or called off).
        settled.add(r);
        stuckIds.add(r.id());
      } else if (r.pending()) {
        Set<Long> touched = new HashSet<>(r.target().voters());
        touched.addAll(r.voters());
        touched.addAll(r.learners());
        Set<Long> both = new HashSet<>(r.target().voters());
        both.retainAll(r.voters());
        touched.removeAll(both);
        touched.forEach(n -> moving.merge(n, 1, Integer::sum));
      } else if (r.leader() != 0) {
        settled.add(r);
      }
    }
    settled.sort(Comparator.comparingLong(Range::id));
    Model m = new Model(state, replicas, leaders, moving, settings);
    List<Decision> out = new ArrayList<>();
    Set<Long> decided = new HashSet<>();
    for (Range r : settled) {
      Decision d = m.repair(r);
      if (d == null && stuckIds.contains(r.id())) {
        d = m.decide(r, 0, 0, "call off the move: its target holds a node that is not live");
      }
      if (d != null) {
        out.add(d);
        decided.add(r.id());
      }
    }
    m.rebalanceReplicas(settled, decided, out);
    m.rebalanceLeaders(settled, decided, out);
    return out;
  }

  /** Counts as decisions are made within a round. */
  private record Model(Map<Long, State> state, Map<Long, Integer> replicas, Map<Long, Integer> leaders,
      Map<Long, Integer> moving, Settings settings) {

    private boolean live(long n) {
      return state.get(n) == State.LIVE;
    }

    /** A node gone from the cluster, dead, or being drained: its replicas go elsewhere. */
    private boolean drained(long n) {
      State s = state.get(n);
      return s == null || s.drained();
    }

    private boolean canMove(long n) {
      return moving.getOrDefault(n, 0) < settings.maxMovesPerNode();
    }

    /** The live node with the fewest replicas that {@code voters} lacks and that may take a move, or 0. */
    private long receiver(Set<Long> voters) {
      long best = 0;
      for (long n : state.keySet()) {
        if (live(n) && !voters.contains(n) && canMove(n)
            && (best == 0 || replicas.get(n) < replicas.get(best))) {
          best = n;
        }
      }
      return best;
    }

    private Decision decide(Range r, long add, long remove, String reason) {
      Set<Long> voters = new TreeSet<>(r.voters());
      if (remove != 0) {
        voters.remove(remove);
        replicas.merge(remove, -1, Integer::sum);
        moving.merge(remove, 1, Integer::sum);
      }
      if (add != 0) {
        voters.add(add);
        replicas.merge(add, 1, Integer::sum);
        moving.merge(add, 1, Integer::sum);
      }
      long preferred = r.target() == null ? 0 : r.target().preferredLeader();
      if (!voters.contains(preferred) || drained(preferred)) {
        preferred = 0;
      }
      return new Decision(r.id(), new Target(voters, preferred), reason);
    }

    /** A replica on a drained or departed node replaced (or dropped), or the voter count fixed. */
    Decision repair(Range r) {
      int rf = settings.replicationFactor();
      for (long v : new TreeSet<>(r.voters())) {
        if (!drained(v)) {
          continue;
        }
        State s = state.get(v);
        long add = r.voters().size() <= rf ? receiver(r.voters()) : 0;
        if (add != 0) {
          return decide(r, add, v, "replace node " + v + " (" + describe(s) + ") with node " + add);
        }
        // No room elsewhere: a departed node's replica goes anyway (it can never answer); a dead
        // or decommissioning one stays until a node can take it, unless the range has too many.
        if ((s == null || r.voters().size() > rf) && r.voters().size() > 1) {
          return decide(r, 0, v, "remove node " + v + " (" + describe(s) + ")");
        }
      }
      if (r.voters().size() < rf) {
        long add = receiver(r.voters());
        if (add != 0) {
          return decide(r, add, 0, "up-replicate to " + rf + ": add node " + add);
        }
      }
      if (r.voters().size() > rf) {
        long remove = r.voters().stream().filter(this::canMove)
            .max(Comparator.comparing((Long n) -> replicas.get(n)).thenComparing(n -> n)).orElse(0L);
        if (remove != 0) {
          return decide(r, 0, remove, "down-replicate to " + rf + ": remove node " + remove);
        }
      }
      long preferred = r.target() == null ? 0 : r.target().preferredLeader();
      if (preferred != 0 && !live(preferred)) {
        return decide(r, 0, 0, "node " + preferred + " is not live: no preferred leader");
      }
      return null;
    }

    private static String describe(State s) {
      return s == null ? "left the cluster" : s.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Moves replicas from the most to the least loaded live node until counts differ by at most one. */
    void rebalanceReplicas(List<Range> settled, Set<Long> decided, List<Decision> out) {
      boolean moved = true;
      while (moved) {
        moved = false;
        List<Long> byLoad = state.keySet().stream().filter(this::live)
            .sorted(Comparator.comparing((Long n) -> replicas.get(n)).thenComparing(n -> n)).toList();
        if (byLoad.size() < 2) {
          return;
        }
        search:
        for (int hi = byLoad.size() - 1; hi > 0; hi--) {
          long from = byLoad.get(hi);
          for (int lo = 0; lo < hi; lo++) {
            long to = byLoad.get(lo);
            if (replicas.get(from) - replicas.get(to) <= 1) {
              break;
            }
            if (!canMove(from) || !canMove(to)) {
              continue;
            }
            for (Range r : settled) {
              if (!decided.contains(r.id()) && r.voters().contains(from) && !r.voters().contains(to)
                  && r.voters().stream().noneMatch(this::drained)) {
                out.add(decide(r, to, from, "rebalance: node " + from + " (" + replicas.get(from)
                    + " replicas) to node " + to + " (" + replicas.get(to) + ")"));
                decided.add(r.id());
                moved = true;
                break search;
              }
            }
          }
        }
      }
    }

    /** Names preferred leaders so that live nodes' leader counts differ by at most one. */
    void rebalanceLeaders(List<Range> settled, Set<Long> decided, List<Decision> out) {
      int budget = Math.max(1, settings.maxMovesPerNode() * (int) state.keySet().stream().filter(this::live).count());
      for (int i = 0; i < budget; i++) {
        List<Long> byLeaders = state.keySet().stream().filter(this::live)
            .sorted(Comparator.comparing((Long n) -> leaders.get(n)).thenComparing(n -> n)).toList();
        if (byLeaders.size() < 2) {
          return;
        }
        Decision found = null;
        search:
        for (int hi = byLeaders.size() - 1; hi > 0; hi--) {
          long from = byLeaders.get(hi);
          for (int lo = 0; lo < hi; lo++) {
            long to = byLeaders.get(lo);
            if (leaders.get(from) - leaders.get(to) <= 1) {
              break;
            }
            for (Range r : settled) {
              if (!decided.contains(r.id()) && r.leader() == from && r.voters().contains(to)
                  && !r.leaderTransferPending()) {
                found = new Decision(r.id(), new Target(r.voters(), to), "balance leaders: node " + from + " ("
                    + leaders.get(from) + " leaders) to node " + to + " (" + leaders.get(to) + ")");
                leaders.merge(from, -1, Integer::sum);
                leaders.merge(to, 1, Integer::sum);
                decided.add(r.id());
                break search;
              }
            }
          }
        }
        if (found == null) {
          return;
        }
        out.add(found);
      }
    }
  }
}
