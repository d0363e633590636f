package io.flotilla.server.net;

/**
 * A frame on a TLS peer connection claims a sender other than the node its certificate names: a
 * node (or whoever holds its key) is speaking for another. The peer port refuses the connection,
 * logs it and counts it ({@code flotilla_peer_identity_refused_total}); the node goes on.
 */
public final class PeerIdentityMismatch extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final long certified;
  private final long claimed;

  public PeerIdentityMismatch(long certified, long claimed) {
    super("the connection's certificate is node " + certified + "'s but its frame claims to be from node " + claimed);
    this.certified = certified;
    this.claimed = claimed;
  }

  public long certified() {
    return certified;
  }

  public long claimed() {
    return claimed;
  }
}
