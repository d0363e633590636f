package io.flotilla.server.membership;

import io.flotilla.raft.node.RaftNode;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Hands a group's leadership to another voter (§3.10) and waits until another node leads: the
 * transfer completes on that node, so this one watches its leader id (no event says so), up to
 * about ten seconds. Used for the system range ({@code member transfer-leader}) and any range
 * ({@code range transfer-leader}).
 */
public final class LeaderTransfer {
  private LeaderTransfer() {}

  /** Thrown (in the future) when {@code target} is not a voter to hand leadership to. */
  public static final class NoSuchVoter extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    NoSuchVoter(long target) {
      super("no such voter to hand leadership to: " + target);
    }
  }

  /** Thrown (in the future) when the leadership did not move in time. */
  public static final class DidNotMove extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    DidNotMove() {
      super("leadership did not move in time");
    }
  }

  /** The voter other than {@code self} with the highest match index in a leader's status; 0: none. */
  public static long mostCaughtUpVoter(RaftNode.Status rs, long self) {
    return rs.matchIndex().entrySet().stream()
        .filter(e -> e.getKey() != self && rs.configuration().isVoter(e.getKey()))
        .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(0L);
  }

  /**
   * On the leader: moves leadership to {@code target} (0: the most caught-up voter); completes with
   * the new leader's id ({@code self} when asked to hand it to itself).
   */
  public static CompletableFuture<Long> transfer(RaftNode raft, long self, long target, ScheduledExecutorService timer) {
    return raft.status().thenCompose(rs -> {
      long to = target == 0 ? mostCaughtUpVoter(rs, self) : target;
      if (to == self) {
        return CompletableFuture.completedFuture(self);
      }
      if (to == 0 || !rs.configuration().isVoter(to)) {
        return CompletableFuture.failedFuture(new NoSuchVoter(target));
      }
      CompletableFuture<Long> done = new CompletableFuture<>();
      raft.transferLeadership(to).whenComplete((ok, err) -> {
        if (err != null) {
          done.completeExceptionally(err);
        } else {
          poll(raft, done, timer, 0);
        }
      });
      return done;
    });
  }

  private static void poll(RaftNode raft, CompletableFuture<Long> done, ScheduledExecutorService timer, int polls) {
    if (done.isDone()) {
      return;
    }
    long leader = raft.leaderId();
    if (!raft.isLeader() && leader != 0) {
      done.complete(leader);
      return;
    }
    if (polls > 1000) {
      done.completeExceptionally(new DidNotMove());
      return;
    }
    timer.schedule(() -> poll(raft, done, timer, polls + 1), 10, TimeUnit.MILLISECONDS);
  }
}
