package io.flotilla.raft.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.List;
import org.junit.jupiter.api.Test;

class RaftLogTest {

    private static Entry e(long index, long term) {
        return new Entry(index, term, EntryType.NORMAL, null);
    }

    private static MemoryStorage storageWith(long... terms) {
        MemoryStorage s = new MemoryStorage();
        for (int i = 0; i < terms.length; i++) {
            s.append(List.of(e(i + 1, terms[i])));
        }
        s.sync();
        return s;
    }

    @Test
    void readsSpanStableAndUnstableEntries() {
        RaftLog log = new RaftLog(storageWith(1, 1, 2));
        log.append(List.of(e(4, 3), e(5, 3)));
        assertThat(log.lastIndex()).isEqualTo(5);
        assertThat(log.durableLastIndex()).isEqualTo(3);
        assertThat(log.term(2)).isEqualTo(1);
        assertThat(log.term(5)).isEqualTo(3);
        assertThat(log.entries(2, Long.MAX_VALUE, 10)).extracting(Entry::index).containsExactly(2L, 3L, 4L, 5L);
        assertThat(log.entries(2, Long.MAX_VALUE, 2)).extracting(Entry::index).containsExactly(2L, 3L);
    }

    @Test
    void conflictingAppendTruncatesBelowTheStableLog() {
        MemoryStorage s = storageWith(1, 1, 2, 2);
        RaftLog log = new RaftLog(s);
        log.append(List.of(e(3, 3)));
        assertThat(log.lastIndex()).isEqualTo(3);
        assertThat(log.term(3)).isEqualTo(3);
        assertThat(log.durableLastIndex()).isEqualTo(2); // storage's 3 and 4 are being replaced
        assertThat(log.unstableEntries()).containsExactly(e(3, 3));
        s.append(log.unstableEntries());
        s.sync();
        log.stableTo(3, 3);
        assertThat(log.hasUnstable()).isFalse();
        assertThat(log.lastIndex()).isEqualTo(3);
        assertThat(log.durableLastIndex()).isEqualTo(3);
    }

    @Test
    void stableToIgnoresAReplacedEntry() {
        RaftLog log = new RaftLog(storageWith(1));
        log.append(List.of(e(2, 1), e(3, 1)));
        log.append(List.of(e(3, 2)));
        log.stableTo(3, 1); // the entry handed out was replaced meanwhile
        assertThat(log.unstableEntries()).containsExactly(e(2, 1), e(3, 2));
    }

    @Test
    void findConflictAndUpToDate() {
        RaftLog log = new RaftLog(storageWith(1, 1, 2, 2, 3));
        assertThat(log.findConflict(List.of(e(4, 2), e(5, 3)))).isZero();
        assertThat(log.findConflict(List.of(e(4, 2), e(5, 4)))).isEqualTo(5);
        assertThat(log.findConflict(List.of(e(5, 3), e(6, 3)))).isEqualTo(6);
        assertThat(log.isUpToDate(5, 3)).isTrue();
        assertThat(log.isUpToDate(4, 3)).isFalse();
        assertThat(log.isUpToDate(1, 4)).isTrue();
        assertThat(log.isUpToDate(100, 2)).isFalse();
        // fast backtracking: the largest index <= 5 whose term is <= 2
        assertThat(log.findConflictByTerm(5, 2)).containsExactly(4, 2);
        assertThat(log.findConflictByTerm(5, 0)).containsExactly(0, 0);
    }

    @Test
    void aCompactedStorageStartsAfterItsSnapshot() {
        MemoryStorage s = storageWith(1, 1, 2, 2, 3);
        s.setHardState(new io.flotilla.raft.HardState(3, 0, 4));
        s.sync();
        s.createSnapshot(3, new byte[] {1});
        RaftLog log = new RaftLog(s);
        assertThat(log.firstIndex()).isEqualTo(4);
        assertThat(log.lastIndex()).isEqualTo(5);
        assertThat(log.term(3)).isEqualTo(2);
        assertThat(log.isCompacted(2)).isTrue();
        assertThat(log.isCompacted(3)).isFalse();
        assertThat(log.matchTerm(2, 1)).isFalse(); // unknown, so never a match
        assertThat(log.findConflictByTerm(5, 2)).containsExactly(4, 2);
        assertThat(log.findConflictByTerm(5, 1)).containsExactly(2, 0); // below the snapshot: unknown
        assertThat(log.snapshot().index()).isEqualTo(3);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> log.term(2)).isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> log.slice(3, 5, Long.MAX_VALUE))
                .isInstanceOf(io.flotilla.raft.InvariantViolation.class);
    }

    @Test
    void aPendingSnapshotHidesTheStoredLogUntilInstalled() {
        MemoryStorage s = storageWith(1, 1, 1);
        RaftLog log = new RaftLog(s);
        log.restore(new io.flotilla.raft.Snapshot(10, 4, new byte[0]));
        log.append(List.of(e(11, 4)));
        assertThat(log.firstIndex()).isEqualTo(11);
        assertThat(log.lastIndex()).isEqualTo(11);
        assertThat(log.term(10)).isEqualTo(4);
        assertThat(log.durableLastIndex()).isZero(); // nothing counts until the install is durable
        s.applySnapshot(log.unstableSnapshot());
        s.append(log.unstableEntries());
        s.sync();
        log.stableSnapTo(10);
        log.stableTo(11, 4);
        assertThat(log.hasUnstable()).isFalse();
        assertThat(log.durableLastIndex()).isEqualTo(11);
        assertThat(log.firstIndex()).isEqualTo(11);
    }
}
