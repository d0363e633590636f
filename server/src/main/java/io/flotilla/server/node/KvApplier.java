package io.flotilla.server.node;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.node.StateMachine;
import io.flotilla.storage.CommittedCommand;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.proto.Result;
import java.util.List;

/**
 * Applies committed entries to the RocksDB state machine and keeps each result until the request
 * waiting for it picks it up. The Raft driver completes a proposal's future right after applying
 * its entry, on the same thread, so results live in a small ring indexed by log index; entries
 * proposed on other nodes simply overwrite their slot later.
 */
final class KvApplier implements StateMachine {
  /** Thrown when the state machine cannot apply: the node must stop, not skip an entry. */
  static final class ApplyFailed extends Error {
    private static final long serialVersionUID = 1L;

    ApplyFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final int RING = 1 << 16;
  private final KvStateMachine sm;
  private final long[] indexes = new long[RING];
  private final Result[] results = new Result[RING];

  KvApplier(KvStateMachine sm) {
    this.sm = sm;
  }

  @Override
  public void apply(Entry entry) {
    // NOOP and CONF_CHANGE entries still advance the applied index (empty command).
    byte[] data = entry.type() == EntryType.NORMAL ? entry.data() : new byte[0];
    Result r;
    try {
      r = sm.apply(List.of(new CommittedCommand(entry.index(), entry.term(), data))).get(0);
    } catch (RuntimeException e) {
      throw new ApplyFailed("cannot apply entry " + entry.index() + "; stopping this node", e);
    }
    int slot = (int) (entry.index() & (RING - 1));
    synchronized (this) {
      indexes[slot] = entry.index();
      results[slot] = r;
    }
  }

  /** The result of the entry at {@code index}, if it is still remembered. */
  synchronized Result resultOf(long index) {
    int slot = (int) (index & (RING - 1));
    return indexes[slot] == index ? results[slot] : null;
  }
}
