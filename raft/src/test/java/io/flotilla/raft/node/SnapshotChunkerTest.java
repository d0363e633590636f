package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.DropReason;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.node.SnapshotChunker.SnapshotChunk;
import io.flotilla.raft.quorum.Configuration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
        assertThat(a.dropped()).isEqualTo(3); // every chunk after the gap
        assertThat(a.bufferedBytes()).isZero();
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

    private static SnapshotChunk chunk(long group, long from, long term, long offset, int size, boolean done) {
        return new SnapshotChunk(group, from, 2, term, 100, 3, offset, new byte[size], done, 0);
    }

    @Test
    void aSecondSenderIdCannotMakeTheNodeHoldASecondPartialSnapshot() {
        // The budget was per (group, sender id) and the id is the chunk's own claim: every made-up
        // id could hold another budget's worth. Now a group has one partial snapshot at a time.
        InstallSnapshot fromA = message(2400, 5); // within the budget on its own
        List<SnapshotChunk> a = SnapshotChunker.split(fromA, 2000);
        InstallSnapshot fromB = new InstallSnapshot(9, 3, 2, 4, new Snapshot(100, 3, new byte[2000]));
        SnapshotChunker.Assembler assembler = new SnapshotChunker.Assembler(2500);
        assertThat(assembler.accept(a.get(0))).isEmpty();
        assertThat(feed(assembler, SnapshotChunker.split(fromB, 2000))).contains(fromB);
        assertThat(assembler.accept(a.get(1))).isEmpty(); // A's partial was replaced, not kept beside B's
    }

    @Test
    void theBudgetHoldsAcrossGroupsAndAbsurdSizesAreRefusedBeforeBuffering() {
        SnapshotChunker.Assembler a = new SnapshotChunker.Assembler(2500);
        assertThat(a.offer(chunk(9, 1, 4, 0, 2000, false))).isInstanceOf(SnapshotChunker.Assembler.Incomplete.class);
        assertThat(a.offer(chunk(10, 1, 4, 0, 2000, false)))
                .isEqualTo(new SnapshotChunker.Assembler.Dropped(DropReason.SNAPSHOT_CHUNK));
        assertThat(a.bufferedBytes()).isEqualTo(2000);
        assertThat(a.offer(chunk(10, 1, 4, 1L << 40, 10, false))).isInstanceOf(SnapshotChunker.Assembler.Dropped.class);
        assertThat(a.offer(chunk(10, 1, 4, -5, 10, false))).isInstanceOf(SnapshotChunker.Assembler.Dropped.class);
        assertThat(a.offer(new SnapshotChunk(10, 1, 2, 4, 100, 5, 0, new byte[1], false, 0)))
                .as("snapshot term above the message's").isInstanceOf(SnapshotChunker.Assembler.Dropped.class);
        assertThat(a.bufferedBytes()).isEqualTo(2000);
        // An older leader's fresh attempt does not replace a newer one's.
        assertThat(a.offer(chunk(9, 1, 3, 0, 10, false))).isInstanceOf(SnapshotChunker.Assembler.Dropped.class);
        assertThat(a.bufferedBytes()).isEqualTo(2000);
    }

    @Test
    void anAbandonedPartialSnapshotIsDropped() {
        long[] now = {0};
        SnapshotChunker.Assembler a = new SnapshotChunker.Assembler(2500, 1_000, () -> now[0]);
        a.offer(chunk(9, 1, 4, 0, 2000, false));
        now[0] = 1_000;
        assertThat(a.offer(chunk(9, 1, 4, 2000, 100, false))).isInstanceOf(SnapshotChunker.Assembler.Incomplete.class);
        now[0] = 2_001;
        assertThat(a.offer(chunk(10, 1, 4, 0, 500, false))).isInstanceOf(SnapshotChunker.Assembler.Incomplete.class);
        assertThat(a.bufferedBytes()).isEqualTo(500); // group 9's went silent for longer than allowed
        assertThat(a.dropped()).isEqualTo(1);
    }

    @Test
    void chunksAreTakenFromTheLeaderOrWhileItIsUnknownFromMembers() {
        Configuration members = new Configuration(Set.of(1L, 2L, 3L));
        SnapshotChunk fromOne = chunk(9, 1, 4, 0, 1, false);
        // Leader known: only its chunks (even if it is not in our configuration yet), or a later term's.
        assertThat(SnapshotChunker.checkSender(fromOne, 9, 2, 1, 4, members)).isEmpty();
        assertThat(SnapshotChunker.checkSender(chunk(9, 7, 4, 0, 1, false), 9, 2, 7, 4, members)).isEmpty();
        assertThat(SnapshotChunker.checkSender(chunk(9, 3, 4, 0, 1, false), 9, 2, 1, 4, members))
                .contains(DropReason.NOT_FROM_LEADER);
        assertThat(SnapshotChunker.checkSender(chunk(9, 3, 5, 0, 1, false), 9, 2, 1, 4, members)).isEmpty();
        // Leader unknown: members only, unless we know no configuration (joining).
        assertThat(SnapshotChunker.checkSender(chunk(9, 3, 4, 0, 1, false), 9, 2, 0, 4, members)).isEmpty();
        assertThat(SnapshotChunker.checkSender(chunk(9, 77, 4, 0, 1, false), 9, 2, 0, 4, members))
                .contains(DropReason.NOT_A_MEMBER);
        assertThat(SnapshotChunker.checkSender(chunk(9, 77, 4, 0, 1, false), 9, 2, 0, 4, Configuration.EMPTY)).isEmpty();
        // Addressing.
        assertThat(SnapshotChunker.checkSender(fromOne, 8, 2, 1, 4, members)).contains(DropReason.MISROUTED);
        assertThat(SnapshotChunker.checkSender(fromOne, 9, 3, 1, 4, members)).contains(DropReason.MISROUTED);
        assertThat(SnapshotChunker.checkSender(chunk(9, 2, 4, 0, 1, false), 9, 2, 0, 4, members))
                .contains(DropReason.BAD_SENDER);
    }
}
