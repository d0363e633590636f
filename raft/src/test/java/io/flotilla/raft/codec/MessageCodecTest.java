package io.flotilla.raft.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.Snapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageCodecTest {

    private static final long G = 42L << 40; // a large group id survives too

    @Test
    void everyMessageTypeRoundTrips() throws Exception {
        List<Message> all = List.of(
                new Message.RequestVote(G, 1, 2, 7, 100, 6, true, false),
                new Message.RequestVote(G, 1, 2, 7, 100, 6, false, true),
                new Message.RequestVoteResponse(G, 2, 1, 7, true, true),
                new Message.AppendEntries(G, 1, 3, 7, 99, 6, List.of(
                        new Entry(100, 7, EntryType.NOOP, null),
                        new Entry(101, 7, EntryType.NORMAL, new byte[] {1, 2, 3}),
                        new Entry(102, 7, EntryType.CONF_CHANGE, new byte[] {9})), 98),
                new Message.AppendEntries(G, 1, 3, 7, 0, 0, List.of(), 0),
                new Message.AppendEntriesResponse(G, 3, 1, 7, false, 99, 50, 5),
                new Message.AppendEntriesResponse(G, 3, 1, 7, true, 102, 0, 0),
                new Message.Heartbeat(G, 1, 2, 7, 98, 12),
                new Message.HeartbeatResponse(G, 2, 1, 7, 12),
                new Message.ReadIndexRequest(G, 2, 1, 7, 555),
                new Message.ReadIndexResponse(G, 1, 2, 7, 555, 98),
                new Message.TimeoutNow(G, 1, 2, 7),
                new Message.InstallSnapshot(G, 1, 2, 7, new Snapshot(120, 6, new byte[] {4, 5, 6})),
                new Message.InstallSnapshot(G, 1, 2, 7, new Snapshot(1, 1, new byte[0])),
                new Message.InstallSnapshot(G, 1, 2, 7, new Snapshot(9, 2, new byte[] {1},
                        new io.flotilla.raft.quorum.Configuration(java.util.Set.of(1L, 2L, 4L), java.util.Set.of(1L, 2L, 3L),
                                java.util.Set.of(5L), java.util.Set.of(3L)))));
        for (Message m : all) {
            byte[] bytes = MessageCodec.encode(m);
            Message back = MessageCodec.decode(bytes);
            assertThat(back).as(m.toString()).isEqualTo(m);
            assertThat(back.groupId()).isEqualTo(G);
        }
    }
}
