package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.HeartbeatResponse;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Message.ReadIndexResponse;
import io.flotilla.raft.Message.RequestVote;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.quorum.Configuration;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The stateless checks, one defect at a time (node 2 of group 1 receives). */
class MessageValidatorTest {

    private static Optional<DropReason> check(Message m) {
        return MessageValidator.validate(m, 1, 2);
    }

    private static Entry e(long index, long term) {
        return new Entry(index, term, EntryType.NORMAL, null);
    }

    @Test
    void wellFormedMessagesPass() {
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(5, 2), e(6, 3)), 5))).isEmpty();
        assertThat(check(new AppendEntries(1, 1, 2, 1, 0, 0, List.of(), 0))).isEmpty();
        assertThat(check(new AppendEntriesResponse(1, 1, 2, 3, false, 9, 4, 2))).isEmpty();
        assertThat(check(new RequestVote(1, 1, 2, 3, 0, 0, true, false))).isEmpty();
        assertThat(check(new RequestVoteResponse(1, 1, 2, 0, false, true))).isEmpty(); // a node that saw no term
        assertThat(check(new InstallSnapshot(1, 1, 2, 3, new Snapshot(9, 3, new byte[1],
                new Configuration(Set.of(1L, 2L)))))).isEmpty();
        byte[] conf = new ConfEntry(ConfChange.of(ConfChange.addLearner(4)), false,
                new Configuration(Set.of(1L, 2L, 3L), Set.of(), Set.of(4L), Set.of())).encode();
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(new Entry(5, 3, EntryType.CONF_CHANGE, conf)), 5)))
                .isEmpty();
    }

    @Test
    void addressingAndSender() {
        assertThat(check(new Heartbeat(7, 1, 2, 1, 0, 0))).contains(DropReason.MISROUTED);
        assertThat(check(new Heartbeat(1, 1, 3, 1, 0, 0))).contains(DropReason.MISROUTED);
        assertThat(check(new Heartbeat(1, 2, 2, 1, 0, 0))).contains(DropReason.BAD_SENDER);
        assertThat(check(new Heartbeat(1, -4, 2, 1, 0, 0))).contains(DropReason.BAD_SENDER);
        assertThat(check(new Heartbeat(1, 1, 2, 0, 0, 0))).contains(DropReason.BAD_INDEX);
        assertThat(check(new Heartbeat(1, 1, 2, -1, 0, 0))).contains(DropReason.BAD_INDEX);
        // Adopted, a term this large made the next campaign's term overflow (found by
        // PeerInputTest's random input): no cluster gets near it.
        assertThat(check(new Heartbeat(1, 1, 2, Long.MAX_VALUE, 0, 0))).contains(DropReason.BAD_INDEX);
        assertThat(check(new Heartbeat(1, 1, 2, 1, (1L << 62) + 1, 0))).contains(DropReason.BAD_INDEX);
    }

    @Test
    void rangesAndPointsThatNoLogHas() {
        assertThat(check(new Heartbeat(1, 1, 2, 1, -1, 0))).contains(DropReason.BAD_INDEX);
        assertThat(check(new Heartbeat(1, 1, 2, 1, 0, -1))).contains(DropReason.BAD_INDEX);
        assertThat(check(new HeartbeatResponse(1, 1, 2, 1, -1))).contains(DropReason.BAD_INDEX);
        assertThat(check(new ReadIndexResponse(1, 1, 2, 1, 1, -1))).contains(DropReason.BAD_INDEX);
        assertThat(check(new RequestVote(1, 1, 2, 3, 5, 0, false, false))).contains(DropReason.BAD_INDEX);
        assertThat(check(new RequestVote(1, 1, 2, 3, 0, 1, false, false))).contains(DropReason.BAD_INDEX);
        assertThat(check(new RequestVote(1, 1, 2, 3, 5, 4, false, false))).contains(DropReason.BAD_INDEX);
        assertThat(check(new AppendEntriesResponse(1, 1, 2, 3, true, -1, 0, 0))).contains(DropReason.BAD_INDEX);
        assertThat(check(new AppendEntriesResponse(1, 1, 2, 3, false, 4, 5, 1))).contains(DropReason.BAD_INDEX);
        assertThat(check(new AppendEntriesResponse(1, 1, 2, 3, false, 4, 2, 4))).contains(DropReason.BAD_INDEX);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 0, List.of(), 0))).contains(DropReason.BAD_INDEX);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 4, List.of(), 0))).contains(DropReason.BAD_INDEX);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(), -1))).contains(DropReason.BAD_INDEX);
        assertThat(check(new InstallSnapshot(1, 1, 2, 3, new Snapshot(9, 4, new byte[0])))).contains(DropReason.BAD_INDEX);
        assertThat(check(new InstallSnapshot(1, 1, 2, 3, Snapshot.EMPTY))).contains(DropReason.BAD_INDEX);
        assertThat(check(new InstallSnapshot(1, 1, 2, 3, new Snapshot(9, 3, new byte[0],
                new Configuration(Set.of(1L, -2L)))))).contains(DropReason.BAD_CONF_ENTRY);
    }

    @Test
    void entriesMustFollowPrevLogIndexOneByOneWithTermsThatNeverDecrease() {
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(6, 2)), 0)))
                .contains(DropReason.ENTRIES_NOT_CONTIGUOUS);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(4, 2)), 0)))
                .contains(DropReason.ENTRIES_NOT_CONTIGUOUS);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(5, 2), e(5, 2)), 0)))
                .contains(DropReason.ENTRIES_NOT_CONTIGUOUS);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(5, 1)), 0))).contains(DropReason.ENTRY_TERM);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(5, 3), e(6, 2)), 0)))
                .contains(DropReason.ENTRY_TERM);
        assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(e(5, 4)), 0))).contains(DropReason.ENTRY_TERM);
    }

    @Test
    void aConfigurationEntryThatDoesNotDecodeIsRefusedWithoutAllocatingWhatItClaims() {
        // A change count of 2^31 - 1 used to size an ArrayList before a single change was read.
        byte[] huge = ByteBuffer.allocate(6).put((byte) 1).put((byte) 0).putInt(Integer.MAX_VALUE).array();
        for (byte[] data : List.of(new byte[0], new byte[] {9}, huge, new byte[] {1, 0, 0, 0, 0, 1, 7})) {
            assertThat(check(new AppendEntries(1, 1, 2, 3, 4, 2, List.of(new Entry(5, 3, EntryType.CONF_CHANGE, data)), 0)))
                    .as("conf entry %s", java.util.Arrays.toString(data)).contains(DropReason.BAD_CONF_ENTRY);
        }
    }
}
