package io.flotilla.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.codec.MessageCodec;
import io.flotilla.raft.proto.SnapshotChunk;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerTrafficMetricsTest {
  @Test
  void theSenderIsReadFromRaftMessagesAndSnapshotChunksWithoutDecodingThem() {
    byte[] ae = MessageCodec.encode(new Message.AppendEntries(1, 3, 1, 7, 10, 7,
        List.of(new Entry(11, 7, EntryType.NORMAL, new byte[256])), 10));
    assertThat(NodeMetrics.senderOf(ae)).isEqualTo(3);
    byte[] hb = MessageCodec.encode(new Message.Heartbeat(1, 300, 2, 1, 0, 0));
    assertThat(NodeMetrics.senderOf(hb)).isEqualTo(300);
    byte[] body = SnapshotChunk.newBuilder().setGroupId(1).setFrom(2).setTo(1).setTerm(4).build().toByteArray();
    byte[] chunk = new byte[body.length + 1];
    System.arraycopy(body, 0, chunk, 1, body.length);
    assertThat(NodeMetrics.senderOf(chunk)).isEqualTo(2);
    assertThat(NodeMetrics.senderOf(new byte[0])).isEqualTo(-1);
    assertThat(NodeMetrics.senderOf(new byte[] {(byte) 0x1a, 1, 2})).isEqualTo(-1);
    // A chunk frame cut short after the group id's tag (found by PeerFuzzTest): unreadable, not a
    // read past the end of the array that used to close the peer's connection.
    assertThat(NodeMetrics.senderOf(new byte[] {0, 0x08})).isEqualTo(-1);
    assertThat(NodeMetrics.senderOf(new byte[] {0, 0x08, 1, 0x10})).isEqualTo(-1);
  }
}
