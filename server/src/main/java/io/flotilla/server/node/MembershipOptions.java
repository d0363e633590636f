package io.flotilla.server.node;

import io.flotilla.client.Endpoint;

/**
 * How a node finds its cluster and how the leader grows it.
 *
 * @param join       a member's client address (by name) to ask for admission as a learner, or null
 *                   for a node that starts from its static {@code members} (which may be just
 *                   itself: a bootstrapped one-member cluster). Ignored once the node's log holds a
 *                   configuration: a restarted node never joins twice.
 * @param promoteGap the leader promotes a learner to voter once its match index is within this many
 *                   entries of the leader's last index; negative: only on command
 * @param incarnation the joining node's incarnation ({@link NodeIdentity}); 0: not known
 * @param deadAfter  while this node runs the placement driver (it leads the system range): a
 *                   member that sent no report for this long is dead, and its replicas are rebuilt
 *                   on the other nodes (docs/placement.md)
 */
public record MembershipOptions(Endpoint join, long promoteGap, long incarnation, java.time.Duration deadAfter) {

  /** Five minutes, as CockroachDB's default: long enough for a restart or a reboot, short enough to heal. */
  public static final java.time.Duration DEFAULT_DEAD_AFTER = java.time.Duration.ofMinutes(5);

  public MembershipOptions {
    if (deadAfter == null || deadAfter.isNegative() || deadAfter.isZero()) {
      throw new IllegalArgumentException("dead-after must be positive, not " + deadAfter);
    }
  }

  public MembershipOptions(Endpoint join, long promoteGap, long incarnation) {
    this(join, promoteGap, incarnation, DEFAULT_DEAD_AFTER);
  }

  public MembershipOptions withDeadAfter(java.time.Duration value) {
    return new MembershipOptions(join, promoteGap, incarnation, value);
  }

  public static final long DEFAULT_PROMOTE_GAP = 1_000;

  /** Static membership, automatic promotion of learners with the default gap. */
  public static final MembershipOptions STATIC = new MembershipOptions(null, DEFAULT_PROMOTE_GAP, 0);

  public static MembershipOptions joining(Endpoint at) {
    return new MembershipOptions(at, DEFAULT_PROMOTE_GAP, 0);
  }

  public MembershipOptions withPromoteGap(long gap) {
    return new MembershipOptions(join, gap, incarnation, deadAfter);
  }

  /** Joining as the node whose data directory has this incarnation. */
  public MembershipOptions withIncarnation(long value) {
    return new MembershipOptions(join, promoteGap, value, deadAfter);
  }
}
