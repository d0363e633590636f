package io.flotilla.server.store;

import io.flotilla.raft.RecoveryFence;
import io.flotilla.raft.storage.WalRaftStorage;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node does about a recovery cut (docs/raft.md, "Recovery after a cut") beyond the Raft
 * core's fence: the applied index it starts from, and the {@code "recovery"} field of
 * {@code /status}.
 */
final class Recovery {
  private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

  private Recovery() {}

  /**
   * The applied index the Raft core starts from: the state machine's, except when a recovery cut
   * took entries the state machine had already applied. Those were committed, so the leader sends
   * them again unchanged; the core starts at the end of the log and applies them again, and the
   * state machine skips every entry at or below its own applied index. Without a fence, a state
   * machine ahead of the log is a loss nobody recorded, and the core refuses to start.
   */
  static long startApplied(WalRaftStorage storage, long stateMachineApplied) {
    long last = storage.lastIndex();
    if (storage.recoveryFence().isUp() && stateMachineApplied > last) {
      LOG.warn("the state machine applied up to {} but the log ends at {} after a recovery cut: entries {}..{}"
          + " are applied again (and skipped) when the leader sends them", stateMachineApplied, last, last + 1,
          stateMachineApplied);
      return last;
    }
    return stateMachineApplied;
  }

  /** The {@code "recovery"} field of {@code /status}: null when this process started without a fence. */
  static Map<String, Object> status(WalRaftStorage storage) {
    RecoveryFence atOpen = storage.recoveryFenceAtOpen();
    if (!atOpen.isUp()) {
      return null;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cutFromIndex", atOpen.fromIndex());
    m.put("untilIndex", atOpen.untilIndex());
    m.put("term", atOpen.term());
    // Durable: true once the lifted fence is saved; until then the node grants no vote.
    m.put("caughtUp", !storage.recoveryFence().isUp());
    return m;
  }
}
