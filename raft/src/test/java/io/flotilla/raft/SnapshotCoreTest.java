package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The follower side of InstallSnapshot (Figure 13 receiver rules) and restarts over a compacted log. */
class SnapshotCoreTest {

    private static final long G = 1;

    private static MemoryStorage logWithTerms(long term, long... terms) {
        MemoryStorage s = new MemoryStorage();
        for (int i = 0; i < terms.length; i++) {
            s.append(List.of(new Entry(i + 1, terms[i], EntryType.NORMAL, new byte[] {(byte) i})));
        }
        s.setHardState(new HardState(term, 0, 0));
        s.sync();
        return s;
    }

    private static RaftCore follower(MemoryStorage s, long applied) {
        RaftConfig cfg = RaftConfig.of(G, 2, Set.of(1L, 2L, 3L), new SplittableRandom(1)).withApplied(applied);
        return new RaftCore(cfg, s, s);
    }

    @Test
    void snapshotMatchingTheLogKeepsTheSuffix() {
        // Figure 13 step 6: the log already holds the snapshot's (index, term): keep what follows.
        MemoryStorage s = logWithTerms(1, 1, 1, 1, 1, 1, 1, 1, 1);
        RaftCore core = follower(s, 0);
        core.step(new InstallSnapshot(G, 1, 2, 1, new Snapshot(5, 1, new byte[] {42})));
        Ready rd = core.ready();
        assertThat(rd.snapshot()).isNull();
        assertThat(rd.hardState().commitIndex()).isEqualTo(5);
        assertThat(rd.messages()).containsExactly(new AppendEntriesResponse(G, 2, 1, 1, true, 5, 0, 0));
        assertThat(rd.sendBeforePersist()).isFalse();
        assertThat(core.log().lastIndex()).isEqualTo(8);
        // The covered entries are applied from the log as usual.
        assertThat(rd.committedEntries()).extracting(Entry::index).containsExactly(1L, 2L, 3L, 4L, 5L);
        core.advance(rd);
        assertThat(core.lastApplied()).isEqualTo(5);
    }

    @Test
    void snapshotNotInTheLogReplacesItAndIsInstalledBeforeTheAck() {
        MemoryStorage s = logWithTerms(1, 1, 1, 1, 1, 1, 1, 1, 1);
        RaftCore core = follower(s, 0);
        Snapshot snap = new Snapshot(6, 2, new byte[] {7});
        core.step(new InstallSnapshot(G, 1, 2, 2, snap));
        assertThat(core.log().lastIndex()).isEqualTo(6);
        assertThat(core.log().firstIndex()).isEqualTo(7);
        assertThat(core.log().lastTerm()).isEqualTo(2);
        Ready rd = core.ready();
        assertThat(rd.snapshot()).isEqualTo(snap);
        assertThat(rd.committedEntries()).isEmpty();
        assertThat(rd.mustSync()).isTrue();
        assertThat(rd.messages()).containsExactly(new AppendEntriesResponse(G, 2, 1, 2, true, 6, 0, 0));
        s.applySnapshot(rd.snapshot());
        s.setHardState(rd.hardState());
        s.sync();
        core.advance(rd);
        assertThat(core.lastApplied()).isEqualTo(6);
        assertThat(core.commitIndex()).isEqualTo(6);
        assertThat(s.firstIndex()).isEqualTo(7);
        assertThat(s.lastIndex()).isEqualTo(6);
        assertThat(core.hasReady()).isFalse();
        // The log continues after the snapshot.
        core.step(new Message.AppendEntries(G, 1, 2, 2, 6, 2, List.of(new Entry(7, 2, EntryType.NORMAL, null)), 7));
        Ready next = core.ready();
        assertThat(next.entries()).extracting(Entry::index).containsExactly(7L);
        assertThat(next.messages()).containsExactly(new AppendEntriesResponse(G, 2, 1, 2, true, 7, 0, 0));
    }

    @Test
    void staleSnapshotIsAcknowledgedWithTheCommitIndex() {
        MemoryStorage s = logWithTerms(1, 1, 1, 1, 1);
        s.setHardState(new HardState(1, 0, 3));
        s.sync();
        RaftCore core = follower(s, 0);
        core.step(new InstallSnapshot(G, 1, 2, 1, new Snapshot(2, 1, new byte[0])));
        Ready rd = core.ready();
        assertThat(rd.snapshot()).isNull();
        assertThat(rd.messages()).containsExactly(new AppendEntriesResponse(G, 2, 1, 1, true, 3, 0, 0));
        assertThat(core.log().firstIndex()).isEqualTo(1);
    }

    @Test
    void crashBeforeTheSyncLosesTheInstallAndRestartSeesTheOldLog() {
        MemoryStorage s = logWithTerms(1, 1, 1, 1);
        s.applySnapshot(new Snapshot(10, 2, new byte[] {1}));
        s.crash();
        assertThat(s.snapshot().isEmpty()).isTrue();
        assertThat(s.lastIndex()).isEqualTo(3);
        RaftCore core = follower(s, 0);
        assertThat(core.log().firstIndex()).isEqualTo(1);
    }

    @Test
    void restartOverACompactedLogNeedsTheStateMachineRestoredFirst() {
        MemoryStorage s = logWithTerms(1, 1, 1, 1, 1, 1);
        s.setHardState(new HardState(1, 0, 4));
        s.sync();
        s.createSnapshot(4, new byte[] {9});
        assertThatThrownBy(() -> follower(s, 0)).isInstanceOf(InvariantViolation.class)
                .hasMessageContaining("restore the state machine");
        RaftCore core = follower(s, 4);
        assertThat(core.commitIndex()).isEqualTo(4);
        assertThat(core.log().firstIndex()).isEqualTo(5);
        assertThat(core.log().term(4)).isEqualTo(1);
        assertThat(core.log().isCompacted(3)).isTrue();
    }
}
