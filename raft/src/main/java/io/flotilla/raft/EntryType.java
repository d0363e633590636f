package io.flotilla.raft;

/** What an {@link Entry} carries. */
public enum EntryType {
    /** A client command, opaque to Raft. */
    NORMAL,
    /** The empty entry a new leader appends at the start of its term (dissertation §6.4). */
    NOOP,
    /** Reserved for membership changes; not produced yet. */
    CONF_CHANGE
}
