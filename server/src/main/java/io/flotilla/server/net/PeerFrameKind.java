package io.flotilla.server.net;

/**
 * What the sender says a peer frame is, so that the transport can queue it without decoding it
 * (the encoding belongs to the sender): the transport never reads a Raft message.
 */
public enum PeerFrameKind {
  /**
   * A leader's heartbeat. Only the newest unsent one per peer and Raft group is kept: a newer
   * heartbeat of the same group carries everything an older one would (term, commit index, a read
   * context at least as new), so a follower that cannot keep up costs one queued heartbeat per
   * group, not one per tick; another group's heartbeat never replaces it.
   */
  HEARTBEAT,
  /** Anything else (log entries, votes, responses): queued in order, bounded, dropped past it. */
  OTHER
}
