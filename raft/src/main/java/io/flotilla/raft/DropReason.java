package io.flotilla.raft;

/**
 * Why a peer's message (or snapshot chunk) was dropped as invalid. A peer's input is never a
 * reason for this node to throw or stop: {@link InvariantViolation} is for this node's own broken
 * state. The core returns one of these from {@link RaftCore#step} instead of acting on the
 * message, leaving this node's state exactly as it was; the driver counts it (metric tag
 * {@link #tag()}) and logs it with the sender's address.
 *
 * <p>Validation defends against malformed, misaddressed and stray input (bugs, version skew,
 * corruption, a port scanner, a node of another cluster), not against a malicious member: a
 * well-formed message that claims to come from a member in a plausible term is believed, as Raft
 * assumes. Authenticated peers would be needed for more (see docs/protocol.md, peer port).
 */
public enum DropReason {

    // ---- stateless ({@link MessageValidator}): no correct node ever sends these

    /** The frame is not a message of the peer protocol (bad protobuf, unknown body or entry type). */
    UNDECODABLE("undecodable", false),
    /** Another group, or addressed to another node. */
    MISROUTED("misrouted", false),
    /** A sender id that is not a node id (not positive), or this node's own id. */
    BAD_SENDER("bad_sender", false),
    /** A negative term or index, an index/term pair that cannot exist, a term above the message's. */
    BAD_INDEX("bad_index", false),
    /** AppendEntries entries that do not start at prevLogIndex + 1 or are not consecutive. */
    ENTRIES_NOT_CONTIGUOUS("entries_not_contiguous", false),
    /** Entry terms that decrease, fall below prevLogTerm or exceed the message's term. */
    ENTRY_TERM("entry_term", false),
    /** A configuration entry whose payload does not decode. */
    BAD_CONF_ENTRY("bad_conf_entry", false),
    /** A snapshot chunk out of order, or one that would exceed the snapshot or node-wide budget. */
    SNAPSHOT_CHUNK("snapshot_chunk", false),
    /** A reassembled snapshot whose checksum does not match. */
    SNAPSHOT_CHECKSUM("snapshot_checksum", false),

    // ---- state-dependent (the core, the snapshot assembler's sender check)

    /** A response or request meant for a leader from a node outside this node's configuration. */
    NOT_A_MEMBER("not_a_member", false),
    /**
     * A whole snapshot the state machine cannot take now ({@code StateMachine#canRestore}): say, a
     * range whose keys another range on this node still holds until it catches up past a split.
     * The leader sends it again after its snapshot timeout.
     */
    SNAPSHOT_REFUSED("snapshot_refused", false),
    /** A snapshot chunk or ReadIndex answer from a node that is not this node's leader. */
    NOT_FROM_LEADER("not_from_leader", false),
    /**
     * An index beyond this node's log where the sender must know better: a response to this
     * leader claiming a match past its last index, a heartbeat committing past our log.
     */
    BEYOND_LOG("beyond_log", false),
    /**
     * AppendEntries from a current leader that disagrees with this node's committed prefix. Between
     * correct nodes this is a lost committed entry somewhere: logged as an error.
     */
    CONFLICTS_WITH_COMMITTED("conflicts_with_committed", true),
    /** A leader's message for the term this node leads (two leaders in one term): logged as an error. */
    SECOND_LEADER("second_leader", true);

    private final String tag;
    private final boolean alarm;

    DropReason(String tag, boolean alarm) {
        this.tag = tag;
        this.alarm = alarm;
    }

    /** The metric tag value ({@code flotilla_peer_dropped_total{reason}}), stable for dashboards. */
    public String tag() {
        return tag;
    }

    /**
     * Whether correct peers could produce this only if safety was already lost somewhere (two
     * leaders in a term, a lost committed entry). Still dropped rather than fatal — the input may
     * be forged or corrupt — but worth an error line and a page; the simulator fails on it.
     */
    public boolean alarm() {
        return alarm;
    }
}
