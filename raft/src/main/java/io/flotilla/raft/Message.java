package io.flotilla.raft;

import java.util.List;

/**
 * Every message between the peers of one Raft group. Records, so the core allocates one small
 * object per message; {@link io.flotilla.raft.codec.MessageCodec} maps them to the protobuf wire
 * format. Every message names its group ({@code groupId}) because many groups share a process and
 * a connection; node ids are positive.
 */
public sealed interface Message {

    long groupId();

    long from();

    long to();

    /** The sender's term (for a granted pre-vote: the term the pre-candidate would campaign in). */
    long term();

    /** RequestVote RPC (Figure 2), also used for the pre-vote phase (§9.6). */
    record RequestVote(long groupId, long from, long to, long term, long lastLogIndex, long lastLogTerm,
                       boolean preVote, boolean transfer) implements Message {}

    record RequestVoteResponse(long groupId, long from, long to, long term, boolean granted,
                               boolean preVote) implements Message {}

    /** AppendEntries RPC (Figure 2). {@code entries} is immutable. */
    record AppendEntries(long groupId, long from, long to, long term, long prevLogIndex, long prevLogTerm,
                         List<Entry> entries, long leaderCommit) implements Message {
        public AppendEntries {
            entries = List.copyOf(entries);
        }
    }

    /**
     * On success {@code index} is the last index known to match the leader. On rejection it is
     * the rejected prevLogIndex and the hint lets the leader skip a whole term at a time
     * (§5.3 "fast backtracking", as in etcd-io/raft).
     */
    record AppendEntriesResponse(long groupId, long from, long to, long term, boolean success, long index,
                                 long rejectHintIndex, long rejectHintTerm) implements Message {}

    /**
     * An empty AppendEntries that carries no consistency check. {@code commitIndex} is
     * min(leader commit, follower match) so a follower never commits past what it is known to hold.
     * {@code readContext} is the ReadIndex round being confirmed (0 = none). {@code quiesce}: the
     * leader's group is idle and it stops heartbeating; a follower whose log ends at
     * {@code commitIndex} in this term stops its election timer too and does not answer.
     */
    record Heartbeat(long groupId, long from, long to, long term, long commitIndex, long readContext,
                     boolean quiesce) implements Message {
        public Heartbeat(long groupId, long from, long to, long term, long commitIndex, long readContext) {
            this(groupId, from, to, term, commitIndex, readContext, false);
        }
    }

    record HeartbeatResponse(long groupId, long from, long to, long term, long readContext) implements Message {}

    /** A follower forwarding a client read to the leader (§6.4 "follower reads"). */
    record ReadIndexRequest(long groupId, long from, long to, long term, long requestId) implements Message {}

    record ReadIndexResponse(long groupId, long from, long to, long term, long requestId, long readIndex)
            implements Message {}

    /**
     * InstallSnapshot RPC (Figure 13), sent instead of AppendEntries when the entries a follower
     * needs were compacted. Whole in the core: chunking is the transport's business (see
     * {@code io.flotilla.raft.node.SnapshotChunker} and docs/raft.md). The follower answers with an
     * {@link AppendEntriesResponse} whose {@code index} is the last index it now knows to match
     * (the snapshot's index once installed, or its commit index if the snapshot was stale).
     */
    record InstallSnapshot(long groupId, long from, long to, long term, Snapshot snapshot) implements Message {}

    /** Leadership transfer (§3.10): the target starts an election at once, skipping pre-vote. */
    record TimeoutNow(long groupId, long from, long to, long term) implements Message {}
}
