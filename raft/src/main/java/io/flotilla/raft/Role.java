package io.flotilla.raft;

/** The role of a node in its current term. Changes only in RaftCore.becomeXxx. */
public enum Role {
    FOLLOWER,
    /** Pre-vote phase (dissertation §9.6): asks for votes without bumping the term. */
    PRE_CANDIDATE,
    CANDIDATE,
    LEADER
}
