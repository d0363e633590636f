package io.flotilla.raft;

/** Why a proposal or read was refused or abandoned. The caller acts on the type, not on text. */
public enum RaftError {
    /** This node is not the leader; retry on the hinted leader. The request had no effect. */
    NOT_LEADER,
    /** The leader is handing over leadership; retry shortly. The request had no effect. */
    TRANSFER_IN_PROGRESS,
    /** Too many uncommitted entries; back off. The request had no effect. */
    OVERLOADED,
    /**
     * The leader stepped down before the request completed. For a proposal the outcome is
     * UNKNOWN: the entry may still be committed by a later leader. For a read nothing happened.
     * Retryable.
     */
    LEADERSHIP_LOST
}
