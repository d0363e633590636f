package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.node.SnapshotChunker.SnapshotChunk;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SnapshotChunkerTest {

    private static InstallSnapshot message(int size, long seed) {
        byte[] data = new byte[size];
        new SplittableRandom(seed).nextBytes(data);
        return new InstallSnapshot(9, 1, 2, 4, new Snapshot(100, 3, data));
    }

    private static Optional<InstallSnapshot> feed(SnapshotChunker.Assembler a, List<SnapshotChunk> chunks) {
        Optional<InstallSnapshot> out = Optional.empty();
        for (SnapshotChunk c : chunks) {
            out = a.accept(c);
        }
        return out;
    }

    @Test
    void splitsIntoBoundedChunksAndReassemblesThroughTheWireFormat() throws Exception {
        for (int size : new int[] {0, 1, 999, 1000, 1001, 10_000}) {
            InstallSnapshot m = message(size, size);
            List<SnapshotChunk> chunks = SnapshotChunker.split(m, 1000);
            assertThat(chunks).hasSize(Math.max(1, (size + 999) / 1000));
            assertThat(chunks).allSatisfy(c -> assertThat(c.data().length).isLessThanOrEqualTo(1000));
            assertThat(chunks.get(chunks.size() - 1).done()).isTrue();
            SnapshotChunker.Assembler a = new SnapshotChunker.Assembler(1 << 20);
            Optional<InstallSnapshot> out = Optional.empty();
            for (SnapshotChunk c : chunks) {
                assertThat(out).isEmpty();
                out = a.accept(SnapshotChunker.decode(SnapshotChunker.encode(c)));
            }
            assertThat(out).contains(m);
        }
    }

    @Test
    void aGapDropsThePartialSnapshotUntilItIsResent() {
        InstallSnapshot m = message(5000, 1);
        List<SnapshotChunk> chunks = SnapshotChunker.split(m, 1000);
        SnapshotChunker.Assembler a = new SnapshotChunker.Assembler(1 << 20);
        assertThat(feed(a, List.of(chunks.get(0), chunks.get(2), chunks.get(3), chunks.get(4)))).isEmpty();
        assertThat(a.dropped()).isEqualTo(1);
        assertThat(feed(a, chunks)).contains(m); // the resend starts again at offset 0
    }

    @Test
    void corruptPayloadAndOversizeAreRejected() {
        InstallSnapshot m = message(3000, 2);
        List<SnapshotChunk> chunks = new java.util.ArrayList<>(SnapshotChunker.split(m, 1000));
        SnapshotChunk mid = chunks.get(1);
        byte[] flipped = mid.data().clone();
        flipped[7] ^= 1;
        chunks.set(1, new SnapshotChunk(mid.groupId(), mid.from(), mid.to(), mid.term(), mid.snapshotIndex(),
                mid.snapshotTerm(), mid.offset(), flipped, mid.done(), mid.crc32c()));
        SnapshotChunker.Assembler a = new SnapshotChunker.Assembler(1 << 20);
        assertThat(feed(a, chunks)).isEmpty();
        assertThat(a.dropped()).isEqualTo(1);

        SnapshotChunker.Assembler small = new SnapshotChunker.Assembler(2500);
        assertThat(feed(small, SnapshotChunker.split(m, 1000))).isEmpty();
        assertThat(small.dropped()).isEqualTo(1);
    }

    @Test
    void chunksOfAnotherAttemptDoNotMix() {
        InstallSnapshot older = message(3000, 3);
        InstallSnapshot newer = new InstallSnapshot(9, 1, 2, 5, new Snapshot(200, 5, new byte[3000]));
        List<SnapshotChunk> a1 = SnapshotChunker.split(older, 1000);
        List<SnapshotChunk> b1 = SnapshotChunker.split(newer, 1000);
        SnapshotChunker.Assembler a = new SnapshotChunker.Assembler(1 << 20);
        assertThat(feed(a, List.of(a1.get(0), b1.get(1), a1.get(1), a1.get(2)))).isEmpty();
        assertThat(feed(a, b1)).contains(newer);
    }
}
