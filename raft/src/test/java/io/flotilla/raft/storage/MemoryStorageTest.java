package io.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.InvariantViolation;
import java.util.List;
import org.junit.jupiter.api.Test;

class MemoryStorageTest {

    private static Entry e(long index, long term) {
        return new Entry(index, term, EntryType.NORMAL, new byte[] {(byte) index});
    }

    @Test
    void crashLosesUnforcedWritesOnly() {
        MemoryStorage s = new MemoryStorage();
        s.append(List.of(e(1, 1), e(2, 1)));
        s.setHardState(new HardState(1, 2, 1));
        s.sync();
        s.append(List.of(e(3, 1)));
        s.setHardState(new HardState(2, 0, 2));
        s.crash();
        assertThat(s.lastIndex()).isEqualTo(2);
        assertThat(s.hardState()).isEqualTo(new HardState(1, 2, 1));
    }

    @Test
    void crashUndoesAnUnforcedTruncation() {
        MemoryStorage s = new MemoryStorage();
        s.append(List.of(e(1, 1), e(2, 1), e(3, 1)));
        s.sync();
        s.append(List.of(e(2, 2)));
        assertThat(s.lastIndex()).isEqualTo(2);
        assertThat(s.term(2)).isEqualTo(2);
        s.crash();
        assertThat(s.lastIndex()).isEqualTo(3);
        assertThat(s.term(2)).isEqualTo(1);
        s.append(List.of(e(2, 3)));
        s.sync();
        s.crash();
        assertThat(s.durableEntries()).containsExactly(e(1, 1), e(2, 3));
    }

    @Test
    void entriesRespectTheByteLimitButReturnAtLeastOne() {
        MemoryStorage s = new MemoryStorage();
        s.append(List.of(e(1, 1), e(2, 1), e(3, 1)));
        assertThat(s.entries(1, 4, 0)).hasSize(1);
        assertThat(s.entries(1, 4, 2 * e(1, 1).sizeBytes())).hasSize(2);
        assertThat(s.entries(2, 4, Long.MAX_VALUE)).containsExactly(e(2, 1), e(3, 1));
        assertThat(s.term(0)).isZero();
    }

    @Test
    void refusesToTruncateCommittedEntriesOrRewindTheTerm() {
        MemoryStorage s = new MemoryStorage();
        s.append(List.of(e(1, 1), e(2, 1)));
        s.setHardState(new HardState(1, 0, 2));
        assertThatThrownBy(() -> s.append(List.of(e(2, 2)))).isInstanceOf(InvariantViolation.class);
        assertThatThrownBy(() -> s.setHardState(new HardState(0, 0, 0))).isInstanceOf(InvariantViolation.class);
        assertThatThrownBy(() -> s.append(List.of(e(5, 1)))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void compactionIsDurableAndKeepsTheTermOfTheSnapshotPoint() {
        MemoryStorage s = new MemoryStorage();
        s.append(List.of(e(1, 1), e(2, 1), e(3, 2), e(4, 2)));
        s.setHardState(new HardState(2, 0, 3));
        s.sync();
        s.createSnapshot(3, new byte[] {7});
        s.crash();
        assertThat(s.firstIndex()).isEqualTo(4);
        assertThat(s.lastIndex()).isEqualTo(4);
        assertThat(s.term(3)).isEqualTo(2);
        assertThat(s.snapshot()).isEqualTo(new io.flotilla.raft.Snapshot(3, 2, new byte[] {7}));
        assertThat(s.entries(4, 5, Long.MAX_VALUE)).containsExactly(e(4, 2));
        assertThatThrownBy(() -> s.entries(3, 5, Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.createSnapshot(4, new byte[0])).isInstanceOf(InvariantViolation.class);
    }

    @Test
    void installedSnapshotIsLostOnCrashUnlessSynced() {
        MemoryStorage s = new MemoryStorage();
        s.append(List.of(e(1, 1), e(2, 1)));
        s.sync();
        io.flotilla.raft.Snapshot snap = new io.flotilla.raft.Snapshot(5, 3, new byte[] {1});
        s.applySnapshot(snap);
        assertThat(s.firstIndex()).isEqualTo(6);
        assertThat(s.hardState().commitIndex()).isEqualTo(5);
        s.crash();
        assertThat(s.snapshot().isEmpty()).isTrue();
        assertThat(s.lastIndex()).isEqualTo(2);
        s.applySnapshot(snap);
        s.append(List.of(e(6, 3)));
        s.sync();
        s.crash();
        assertThat(s.durableSnapshot()).isEqualTo(snap);
        assertThat(s.firstIndex()).isEqualTo(6);
        assertThat(s.lastIndex()).isEqualTo(6);
        assertThat(s.durableEntries()).containsExactly(e(6, 3));
    }
}
