package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.HeartbeatResponse;
import io.flotilla.raft.Message.ReadIndexResponse;
import io.flotilla.raft.Message.RequestVote;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 item 6: a peer's input never stops a node. An invalid message is dropped with a reason
 * and leaves the node exactly as it was (not even its term moves); legitimate messages from nodes
 * outside the configuration (a joining node's leader, a lagging node's new leader, a candidate
 * promoted before we heard) are still taken.
 */
class PeerInputTest {

    private static final long G = 1;

    /** One core over its own storage; every Ready is persisted, its messages collected. */
    private static final class Node {
        final MemoryStorage storage;
        final RaftCore core;
        final List<Message> sent = new ArrayList<>();
        final List<ReadState> reads = new ArrayList<>();

        Node(RaftConfig config, MemoryStorage storage) {
            this.storage = storage;
            this.core = new RaftCore(config, storage, storage);
        }

        /** Node {@code id} of the voters {1, 2, 3} over a log with these terms, in term {@code term}. */
        static Node of(long id, long term, long... logTerms) {
            MemoryStorage s = new MemoryStorage();
            for (int i = 0; i < logTerms.length; i++) {
                s.append(List.of(new Entry(i + 1, logTerms[i], EntryType.NORMAL, new byte[] {(byte) i})));
            }
            s.setHardState(new HardState(term, 0, 0));
            s.sync();
            return new Node(RaftConfig.of(G, id, Set.of(1L, 2L, 3L), new SplittableRandom(id))
                    .withElection(false, false), s);
        }

        void flush() {
            while (core.hasReady()) {
                Ready rd = core.ready();
                if (rd.snapshot() != null) {
                    storage.applySnapshot(rd.snapshot());
                }
                storage.append(rd.entries());
                if (rd.hardState() != null) {
                    storage.setHardState(rd.hardState());
                }
                storage.sync();
                sent.addAll(rd.messages());
                reads.addAll(rd.readStates());
                core.advance(rd);
            }
        }

        Optional<DropReason> step(Message m) {
            Optional<DropReason> r = core.step(m);
            flush();
            return r;
        }

        /** Elected leader of term 1 with the votes of 2 and 3; its no-op at 1 is durable. */
        static Node leader() {
            Node n = of(1, 0);
            n.core.campaign();
            n.flush();
            n.step(new RequestVoteResponse(G, 2, 1, 1, true, false));
            assertThat(n.core.role()).isEqualTo(Role.LEADER);
            n.sent.clear();
            return n;
        }
    }

    private static Entry e(long index, long term) {
        return new Entry(index, term, EntryType.NORMAL, new byte[] {7});
    }

    private static void assertUntouched(Node n, String before) {
        n.flush();
        assertThat(n.core.toString()).isEqualTo(before);
        assertThat(n.sent).isEmpty();
    }

    @Test
    void appendEntriesWhoseEntriesDoNotStartRightAfterPrevLogIndexIsDroppedAndTheNodeCarriesOn() {
        Node n = Node.of(2, 1, 1, 1);
        String before = n.core.toString();
        // A gap after prevLogIndex (once: "append leaves a gap", and the node stopped), entries
        // before it, a hole between entries, a term going back, an entry of a later term than the
        // message's: each from a higher term, which the node must not adopt either.
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, 2, 1, List.of(e(4, 1), e(5, 1)), 0)))
                .contains(DropReason.ENTRIES_NOT_CONTIGUOUS);
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, 0, 0, List.of(e(3, 1), e(4, 1)), 4)))
                .contains(DropReason.ENTRIES_NOT_CONTIGUOUS);
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, 2, 1, List.of(e(3, 1), e(5, 1)), 0)))
                .contains(DropReason.ENTRIES_NOT_CONTIGUOUS);
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, 2, 1, List.of(e(3, 2), e(4, 1)), 0)))
                .contains(DropReason.ENTRY_TERM);
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, 2, 1, List.of(e(3, 6)), 0)))
                .contains(DropReason.ENTRY_TERM);
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, -1, 1, List.of(), 0))).contains(DropReason.BAD_INDEX);
        assertUntouched(n, before);
        // The real leader's append is taken as before.
        assertThat(n.step(new AppendEntries(G, 1, 2, 5, 2, 1, List.of(e(3, 5)), 3))).isEmpty();
        assertThat(n.core.log().lastIndex()).isEqualTo(3);
        assertThat(n.core.commitIndex()).isEqualTo(3);
    }

    @Test
    void aMatchClaimedBeyondTheLeadersLogIsDroppedAndTheLeaderKeepsCommitting() {
        Node n = Node.leader();
        String before = n.core.toString();
        // Both followers claim far more than the leader has: once it took these, its commit index
        // computation asked for the term of index 1000 and threw on every round.
        assertThat(n.step(new AppendEntriesResponse(G, 2, 1, 1, true, 1000, 0, 0))).contains(DropReason.BEYOND_LOG);
        assertThat(n.step(new AppendEntriesResponse(G, 3, 1, 1, true, 1000, 0, 0))).contains(DropReason.BEYOND_LOG);
        assertThat(n.step(new AppendEntriesResponse(G, 3, 1, 1, false, 999, 5, 1))).contains(DropReason.BEYOND_LOG);
        assertUntouched(n, before);
        assertThat(n.core.progress(2).matchIndex()).isZero();
        n.step(new AppendEntriesResponse(G, 2, 1, 1, true, 1, 0, 0));
        assertThat(n.core.commitIndex()).isEqualTo(1);
        assertThat(n.core.propose(new byte[] {1})).isInstanceOf(ProposeResult.Accepted.class);
        n.flush();
        n.step(new AppendEntriesResponse(G, 3, 1, 1, true, 2, 0, 0));
        assertThat(n.core.commitIndex()).isEqualTo(2);
    }

    @Test
    void aHeartbeatCommittingPastTheLogIsDroppedNotFatal() {
        Node n = Node.of(2, 1, 1, 1);
        String before = n.core.toString();
        assertThat(n.step(new Heartbeat(G, 1, 2, 3, 1000, 0))).contains(DropReason.BEYOND_LOG);
        assertUntouched(n, before);
        assertThat(n.step(new Heartbeat(G, 1, 2, 3, 2, 0))).isEmpty();
        assertThat(n.core.commitIndex()).isEqualTo(2);
    }

    @Test
    void safetyAlarmsFromTheWireAreDroppedNotFatal() {
        // A second leader of this leader's term, and a current leader disagreeing with the
        // committed prefix: once InvariantViolations that stopped the node receiving them.
        Node leader = Node.leader();
        String before = leader.core.toString();
        assertThat(leader.step(new AppendEntries(G, 2, 1, 1, 0, 0, List.of(), 0))).contains(DropReason.SECOND_LEADER);
        assertThat(leader.step(new Heartbeat(G, 3, 1, 1, 0, 0))).contains(DropReason.SECOND_LEADER);
        assertUntouched(leader, before);
        assertThat(DropReason.SECOND_LEADER.alarm()).isTrue();

        Node follower = Node.of(2, 1, 1, 1);
        follower.step(new AppendEntries(G, 1, 2, 1, 2, 1, List.of(), 2)); // commit 2
        follower.sent.clear();
        String committed = follower.core.toString();
        assertThat(follower.step(new AppendEntries(G, 3, 2, 4, 0, 0, List.of(e(1, 4)), 0)))
                .contains(DropReason.CONFLICTS_WITH_COMMITTED);
        assertUntouched(follower, committed);
    }

    @Test
    void aStrangersAnswerInAHigherTermDoesNotDeposeTheLeader() {
        Node n = Node.leader();
        String before = n.core.toString();
        assertThat(n.step(new AppendEntriesResponse(G, 99, 1, 7, false, 0, 0, 0))).contains(DropReason.NOT_A_MEMBER);
        assertThat(n.step(new HeartbeatResponse(G, 99, 1, 7, 0))).contains(DropReason.NOT_A_MEMBER);
        assertThat(n.step(new RequestVoteResponse(G, 99, 1, 7, false, false))).contains(DropReason.NOT_A_MEMBER);
        assertUntouched(n, before);
        // A node removed a moment ago may still answer in our term: ignored, not an error.
        assertThat(n.step(new AppendEntriesResponse(G, 99, 1, 1, true, 1, 0, 0))).isEmpty();
        assertThat(n.core.commitIndex()).isZero();
        // So may its granted pre-vote, which carries the term we would campaign in and never moves
        // ours (seen in MembershipSimulationTest seed 114 once it ran the production driver).
        assertThat(n.step(new RequestVoteResponse(G, 99, 1, 2, true, true))).isEmpty();
        assertThat(n.core.term()).isEqualTo(1);
        assertThat(n.core.role()).isEqualTo(Role.LEADER);
        // A member in a higher term deposes it, as Raft wants.
        assertThat(n.step(new AppendEntriesResponse(G, 2, 1, 7, false, 0, 0, 0))).isEmpty();
        assertThat(n.core.role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void aReadIndexFromAnyoneButTheLeaderIsDropped() {
        Node n = Node.of(2, 1, 1, 1);
        n.step(new Heartbeat(G, 1, 2, 1, 0, 0));
        assertThat(n.core.readIndex(7)).isInstanceOf(ReadResult.Pending.class);
        n.flush();
        // Answered by a node that is not our leader with an old index: served, that read was stale.
        assertThat(n.step(new ReadIndexResponse(G, 3, 2, 1, 7, 0))).contains(DropReason.NOT_FROM_LEADER);
        assertThat(n.step(new ReadIndexResponse(G, 3, 2, 2, 7, 0))).contains(DropReason.NOT_FROM_LEADER);
        assertThat(n.reads).isEmpty();
        assertThat(n.step(new ReadIndexResponse(G, 1, 2, 1, 7, 2))).isEmpty();
        assertThat(n.reads).containsExactly(new ReadState(7, 2));
    }

    @Test
    void leadersAndCandidatesOutsideTheConfigurationAreStillHeard() {
        // A joining node knows no configuration: it takes its first leader's log from anyone.
        MemoryStorage s = new MemoryStorage();
        Node joining = new Node(RaftConfig.joining(G, 4, new SplittableRandom(4)), s);
        assertThat(joining.step(new AppendEntries(G, 9, 4, 3, 0, 0, List.of(e(1, 3)), 1))).isEmpty();
        assertThat(joining.core.commitIndex()).isEqualTo(1);
        assertThat(joining.core.leaderId()).isEqualTo(9);
        // A lagging member whose log has not reached the entry that added the leader of term 5.
        Node lagging = Node.of(3, 1, 1, 1);
        assertThat(lagging.step(new AppendEntries(G, 4, 3, 5, 2, 1, List.of(e(3, 5)), 3))).isEmpty();
        assertThat(lagging.core.commitIndex()).isEqualTo(3);
        assertThat(lagging.core.leaderId()).isEqualTo(4);
        // A candidate promoted before this node learned so still gets its vote.
        Node voter = Node.of(2, 1, 1, 1);
        assertThat(voter.step(new RequestVote(G, 5, 2, 2, 2, 1, false, false))).isEmpty();
        assertThat(voter.sent).singleElement()
                .isEqualTo(new RequestVoteResponse(G, 2, 5, 2, true, false));
    }

    @Test
    void misroutedAndSelfAddressedMessagesAreDropped() {
        Node n = Node.of(2, 1, 1, 1);
        String before = n.core.toString();
        assertThat(n.step(new Heartbeat(G + 1, 1, 2, 1, 0, 0))).contains(DropReason.MISROUTED);
        assertThat(n.step(new Heartbeat(G, 1, 3, 1, 0, 0))).contains(DropReason.MISROUTED);
        assertThat(n.step(new Heartbeat(G, 2, 2, 1, 0, 0))).contains(DropReason.BAD_SENDER);
        assertThat(n.step(new Heartbeat(G, 0, 2, 1, 0, 0))).contains(DropReason.BAD_SENDER);
        assertUntouched(n, before);
    }

    /**
     * Random messages (any field any value, entries mostly near the real log) into a leader and a
     * follower: whatever is taken or dropped, the core never throws. Rerun one seed with
     * {@code -Dflotilla.seed=N}; soak with {@code -Dflotilla.seeds=N} (300 by default).
     */
    @Test
    void randomPeerInputNeverMakesTheCoreThrow() {
        long only = Long.getLong("flotilla.seed", 0);
        long seeds = Long.getLong("flotilla.seeds", 300);
        for (long seed = only == 0 ? 1 : only; seed <= (only == 0 ? seeds : only); seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            Node n = r.nextBoolean() ? Node.leader() : Node.of(2, 1, 1, 1, 1);
            long self = n.core.id();
            for (int i = 0; i < 200; i++) {
                Message m = RandomMessages.any(r, self, n.core.term(), n.core.log().lastIndex());
                try {
                    n.step(m);
                } catch (Throwable t) {
                    throw new AssertionError("seed " + seed + " (rerun: -Dflotilla.seed=" + seed + "), message " + i
                            + " " + m + " into " + n.core + ": " + t, t);
                }
            }
        }
    }
}
