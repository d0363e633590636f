package io.flotilla.storage;

import java.util.Objects;

/**
 * One committed Raft log entry handed to {@link KvStateMachine#apply}.
 *
 * @param index the entry's log index (> 0)
 * @param term  the entry's term; stored with the applied index so a snapshot knows its last term
 * @param data  a serialized {@code flotilla.kv.Command}; empty for entries that carry no command
 *              (leader no-op, configuration change): those only advance the applied index
 */
public record CommittedCommand(long index, long term, byte[] data) {

  private static final byte[] EMPTY = new byte[0];

  public CommittedCommand {
    if (index < 1) {
      throw new IllegalArgumentException("index must be >= 1: " + index);
    }
    if (term < 0) {
      throw new IllegalArgumentException("term must be >= 0: " + term);
    }
    Objects.requireNonNull(data, "data");
  }

  public static CommittedCommand noop(long index, long term) {
    return new CommittedCommand(index, term, EMPTY);
  }
}
