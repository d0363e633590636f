package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.RequestVote;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Unit tests of RaftCore organised by section of the Raft paper (after etcd's raft_paper_test.go). */
class RaftPaperTest {

    private static final long G = 1;

    /** A node over its own storage; every Ready is persisted and its messages collected. */
    private static final class Node {
        final MemoryStorage storage;
        final RaftCore core;
        final List<Message> sent = new ArrayList<>();
        final List<Entry> applied = new ArrayList<>();

        Node(long id, int voters, boolean preVote, MemoryStorage storage) {
            Set<Long> ids = new java.util.HashSet<>();
            for (long v = 1; v <= voters; v++) {
                ids.add(v);
            }
            this.storage = storage;
            this.core = new RaftCore(RaftConfig.of(G, id, ids, new SplittableRandom(id)).withElection(preVote, preVote),
                    storage, storage);
        }

        Node(long id, int voters) {
            this(id, voters, false, new MemoryStorage());
        }

        List<Message> flush() {
            List<Message> out = new ArrayList<>();
            while (core.hasReady()) {
                Ready rd = core.ready();
                storage.append(rd.entries());
                if (rd.hardState() != null) {
                    storage.setHardState(rd.hardState());
                }
                storage.sync();
                out.addAll(rd.messages());
                applied.addAll(rd.committedEntries());
                core.advance(rd);
            }
            sent.addAll(out);
            return out;
        }

        void step(Message m) {
            core.step(m);
            flush();
        }

        <T extends Message> List<T> sentOf(Class<T> type) {
            return sent.stream().filter(type::isInstance).map(type::cast).toList();
        }
    }

    private static MemoryStorage logWithTerms(long... terms) {
        MemoryStorage s = new MemoryStorage();
        for (int i = 0; i < terms.length; i++) {
            s.append(List.of(new Entry(i + 1, terms[i], EntryType.NORMAL, null)));
        }
        s.setHardState(new HardState(terms.length == 0 ? 0 : terms[terms.length - 1], 0, 0));
        s.sync();
        return s;
    }

    private static void electWithVotes(Node n) {
        n.core.campaign();
        n.flush();
        for (long p = 2; p <= 3; p++) {
            n.step(new RequestVoteResponse(G, p, n.core.id(), n.core.term(), true, false));
        }
    }

    // ---------------------------------------------------------------- §5.1 terms

    @Test
    void s5_1_followerAdoptsAHigherTerm() {
        Node n = new Node(1, 3);
        n.step(new Message.Heartbeat(G, 2, 1, 5, 0, 0));
        assertThat(n.core.term()).isEqualTo(5);
        assertThat(n.core.leaderId()).isEqualTo(2);
        assertThat(n.storage.hardState().term()).isEqualTo(5);
    }

    @Test
    void s5_1_leaderStepsDownOnAHigherTerm() {
        Node n = new Node(1, 3);
        electWithVotes(n);
        assertThat(n.core.role()).isEqualTo(Role.LEADER);
        n.step(new AppendEntriesResponse(G, 2, 1, n.core.term() + 1, false, 0, 0, 0));
        assertThat(n.core.role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void s5_1_staleTermRequestIsRejectedWithTheCurrentTerm() {
        Node n = new Node(1, 3);
        n.step(new Message.Heartbeat(G, 2, 1, 5, 0, 0));
        n.sent.clear();
        n.step(new AppendEntries(G, 3, 1, 4, 0, 0, List.of(), 0));
        assertThat(n.sentOf(AppendEntriesResponse.class)).singleElement()
                .satisfies(r -> {
                    assertThat(r.term()).isEqualTo(5);
                    assertThat(r.success()).isFalse();
                });
        assertThat(n.core.leaderId()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- §5.2 elections

    @Test
    void s5_2_candidateVotesForItselfAndPersistsItBeforeAsking() {
        Node n = new Node(1, 3);
        n.core.campaign();
        Ready rd = n.core.ready();
        assertThat(rd.hardState()).isEqualTo(new HardState(1, 1, 0));
        assertThat(rd.sendBeforePersist()).isFalse();
        assertThat(rd.messages()).hasSize(2).allMatch(m -> m instanceof RequestVote rv && rv.term() == 1 && !rv.preVote());
        n.core.advance(rd);
    }

    @Test
    void aReplicaThatKnowsNoConfigurationGrantsNoVote() {
        // A placeholder for a range this node has not received yet (docs/ranges.md): it has seen
        // none of the range's entries, so it must not help elect anyone, pre-vote or vote.
        Node n = new Node(1, 0);
        n.step(new RequestVote(G, 2, 1, 1, 0, 0, false, false));
        n.step(new RequestVote(G, 3, 1, 2, 0, 0, true, false));
        assertThat(n.sentOf(RequestVoteResponse.class)).extracting(RequestVoteResponse::granted)
                .containsExactly(false, false);
        assertThat(n.storage.hardState().votedFor()).isZero();
    }

    @Test
    void s5_2_oneVotePerTerm() {
        Node n = new Node(1, 3);
        n.step(new RequestVote(G, 2, 1, 1, 0, 0, false, false));
        n.step(new RequestVote(G, 3, 1, 1, 0, 0, false, false));
        List<RequestVoteResponse> votes = n.sentOf(RequestVoteResponse.class);
        assertThat(votes).extracting(RequestVoteResponse::granted).containsExactly(true, false);
        assertThat(n.storage.hardState().votedFor()).isEqualTo(2);
        // Asking again (a retransmission) gets the same answer.
        n.step(new RequestVote(G, 2, 1, 1, 0, 0, false, false));
        assertThat(n.sentOf(RequestVoteResponse.class).get(2).granted()).isTrue();
    }

    @Test
    void s5_2_candidateBecomesLeaderWithAMajorityAndAppendsANoop() {
        Node n = new Node(1, 5);
        n.core.campaign();
        n.flush();
        n.step(new RequestVoteResponse(G, 2, 1, 1, true, false));
        assertThat(n.core.role()).isEqualTo(Role.CANDIDATE);
        n.step(new RequestVoteResponse(G, 3, 1, 1, true, false));
        assertThat(n.core.role()).isEqualTo(Role.LEADER);
        assertThat(n.storage.entries(1, 2, Long.MAX_VALUE)).singleElement()
                .satisfies(e -> assertThat(e.type()).isEqualTo(EntryType.NOOP));
    }

    @Test
    void s5_2_candidateStepsDownWhenAMajorityRejects() {
        Node n = new Node(1, 3);
        n.core.campaign();
        n.flush();
        n.step(new RequestVoteResponse(G, 2, 1, 1, false, false));
        n.step(new RequestVoteResponse(G, 3, 1, 1, false, false));
        assertThat(n.core.role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void s5_2_candidateRecognisesALeaderOfItsTerm() {
        Node n = new Node(1, 3);
        n.core.campaign();
        n.flush();
        n.step(new AppendEntries(G, 2, 1, 1, 0, 0, List.of(), 0));
        assertThat(n.core.role()).isEqualTo(Role.FOLLOWER);
        assertThat(n.core.leaderId()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- §5.4.1 election restriction

    @Test
    void s5_4_1_voteOnlyForAnUpToDateLog() {
        Node n = new Node(1, 3, false, logWithTerms(1, 2, 2));
        n.step(new RequestVote(G, 2, 1, 3, 5, 1, false, false)); // older last term
        n.step(new RequestVote(G, 3, 1, 4, 2, 2, false, false)); // same term, shorter
        assertThat(n.sentOf(RequestVoteResponse.class)).extracting(RequestVoteResponse::granted).containsExactly(false, false);
        n.step(new RequestVote(G, 3, 1, 5, 3, 2, false, false)); // same term, as long
        assertThat(n.sentOf(RequestVoteResponse.class).get(2).granted()).isTrue();
    }

    // ---------------------------------------------------------------- §5.3 log replication

    @Test
    void s5_3_followerRejectsAMismatchWithAFastBacktrackingHint() {
        Node n = new Node(1, 3, false, logWithTerms(1, 1, 2, 2, 2));
        n.step(new AppendEntries(G, 2, 1, 5, 7, 4, List.of(), 0));
        AppendEntriesResponse r = n.sentOf(AppendEntriesResponse.class).get(0);
        assertThat(r.success()).isFalse();
        assertThat(r.index()).isEqualTo(7);
        // The hint skips straight to the last entry with term <= 4 it has: index 5, term 2.
        assertThat(r.rejectHintIndex()).isEqualTo(5);
        assertThat(r.rejectHintTerm()).isEqualTo(2);
    }

    @Test
    void s5_3_followerTruncatesAConflictingSuffixAndAppends() {
        Node n = new Node(1, 3, false, logWithTerms(1, 1, 2, 2));
        n.step(new AppendEntries(G, 2, 1, 3, 2, 1, List.of(new Entry(3, 3, EntryType.NORMAL, null)), 0));
        assertThat(n.storage.lastIndex()).isEqualTo(3);
        assertThat(n.storage.term(3)).isEqualTo(3);
        assertThat(n.sentOf(AppendEntriesResponse.class).get(0)).satisfies(r -> {
            assertThat(r.success()).isTrue();
            assertThat(r.index()).isEqualTo(3);
        });
    }

    @Test
    void s5_3_duplicateAppendDoesNotTruncate() {
        Node n = new Node(1, 3, false, logWithTerms(1, 1, 2, 2));
        n.step(new AppendEntries(G, 2, 1, 2, 1, 1, List.of(new Entry(2, 1, EntryType.NORMAL, null)), 0));
        assertThat(n.storage.lastIndex()).isEqualTo(4); // the entries after 2 are kept
    }

    @Test
    void s5_3_followerCommitsUpToLeaderCommitButNotBeyondWhatItHas() {
        Node n = new Node(1, 3);
        n.step(new AppendEntries(G, 2, 1, 1, 0, 0, List.of(new Entry(1, 1, EntryType.NORMAL, null),
                new Entry(2, 1, EntryType.NORMAL, null)), 5));
        assertThat(n.core.commitIndex()).isEqualTo(2);
        assertThat(n.applied).hasSize(2);
    }

    @Test
    void s5_3_followerNeverTruncatesCommittedEntries() {
        Node n = new Node(1, 3, false, logWithTerms(1, 1));
        n.step(new AppendEntries(G, 2, 1, 1, 2, 1, List.of(), 2));
        assertThat(n.core.commitIndex()).isEqualTo(2);
        // Between correct nodes this would be a lost committed entry; from the wire it may be
        // forged or corrupt: dropped (and reported as an alarm), never acted on, never fatal.
        assertThat(n.core.step(new AppendEntries(G, 3, 1, 2, 1, 1,
                List.of(new Entry(2, 2, EntryType.NORMAL, null)), 2)))
                .contains(DropReason.CONFLICTS_WITH_COMMITTED);
        assertThat(n.core.log().term(2)).isEqualTo(1);
        assertThat(n.core.term()).isEqualTo(1); // not even its term was taken
        assertThat(n.core.hasReady()).isFalse();
    }

    // ---------------------------------------------------------------- §5.4.2 commit rule

    @Test
    void s5_4_2_leaderCommitsOnlyCurrentTermEntriesByCounting() {
        Node n = new Node(1, 3, false, logWithTerms(1, 1));
        electWithVotes(n); // term 2, no-op at index 3
        long term = n.core.term();
        // A follower acknowledges the old entries only: no commit.
        n.step(new AppendEntriesResponse(G, 2, 1, term, true, 2, 0, 0));
        assertThat(n.core.commitIndex()).isZero();
        // It acknowledges the no-op of this term: everything up to it commits.
        n.step(new AppendEntriesResponse(G, 2, 1, term, true, 3, 0, 0));
        assertThat(n.core.commitIndex()).isEqualTo(3);
    }

    @Test
    void s10_2_1_leaderCountsItselfOnlyOnceItsEntriesAreDurable() {
        Node n = new Node(1, 3);
        electWithVotes(n);
        long term = n.core.term();
        n.step(new AppendEntriesResponse(G, 2, 1, term, true, 1, 0, 0));
        assertThat(n.core.commitIndex()).isEqualTo(1);
        n.core.propose("x".getBytes());
        Ready rd = n.core.ready();
        assertThat(rd.sendBeforePersist()).isTrue(); // replicate in parallel with the local write
        assertThat(rd.entries()).hasSize(1);
        // Until the driver advances, the leader's own matchIndex excludes the unpersisted entry.
        assertThat(n.core.progress(1).matchIndex()).isEqualTo(1);
        n.storage.append(rd.entries());
        n.storage.sync();
        n.core.advance(rd);
        assertThat(n.core.progress(1).matchIndex()).isEqualTo(2);
        assertThat(n.core.commitIndex()).isEqualTo(1);
        n.step(new AppendEntriesResponse(G, 2, 1, term, true, 2, 0, 0));
        assertThat(n.core.commitIndex()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- §9.6 pre-vote, §6.2 check-quorum

    @Test
    void s9_6_preVoteDoesNotChangeTerms() {
        Node n = new Node(1, 3, true, new MemoryStorage());
        n.core.campaign();
        List<Message> out = n.flush();
        assertThat(n.core.role()).isEqualTo(Role.PRE_CANDIDATE);
        assertThat(n.core.term()).isZero();
        assertThat(out).allMatch(m -> m instanceof RequestVote rv && rv.preVote() && rv.term() == 1);
        Node voter = new Node(2, 3, true, new MemoryStorage());
        voter.step(out.get(0));
        assertThat(voter.core.term()).isZero();
        assertThat(voter.core.votedFor()).isZero();
        assertThat(voter.sentOf(RequestVoteResponse.class).get(0).granted()).isTrue();
        n.step(voter.sentOf(RequestVoteResponse.class).get(0));
        assertThat(n.core.role()).isEqualTo(Role.CANDIDATE);
        assertThat(n.core.term()).isEqualTo(1);
    }

    @Test
    void s6_2_leaderWithoutQuorumStepsDown() {
        Node n = new Node(1, 3, true, new MemoryStorage());
        n.core.campaign();
        n.flush();
        n.step(new RequestVoteResponse(G, 2, 1, 1, true, true));
        n.step(new RequestVoteResponse(G, 2, 1, 1, true, false));
        assertThat(n.core.role()).isEqualTo(Role.LEADER);
        for (int i = 0; i < 10; i++) {
            n.core.tick();
            n.flush();
        }
        assertThat(n.core.role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void proposalsAreRefusedOffTheLeaderAndWhenOverloaded() {
        Node n = new Node(1, 3);
        assertThat(n.core.propose(new byte[0])).isEqualTo(new Rejected(RaftError.NOT_LEADER, 0));
        electWithVotes(n);
        int accepted = 0;
        while (n.core.propose(new byte[0]) instanceof ProposeResult.Accepted) {
            accepted++;
        }
        assertThat(accepted).isEqualTo(4096 - 1); // the no-op is uncommitted too
        assertThat(n.core.propose(new byte[0])).isEqualTo(new Rejected(RaftError.OVERLOADED, 1));
    }

    @Test
    void readyContractIsEnforced() {
        Node n = new Node(1, 3);
        n.core.campaign();
        Ready rd = n.core.ready();
        assertThatThrownBy(n.core::tick).isInstanceOf(IllegalStateException.class);
        n.core.advance(rd);
        assertThat(n.core.step(new Message.Heartbeat(99, 2, 1, 1, 0, 0))).contains(DropReason.MISROUTED);
    }
}
