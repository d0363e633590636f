package io.flotilla.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.raft.DropReason;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.server.proto.PeerFrame;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Received bytes per peer are counted by the inbox against the sender it decoded from the frame's
 * body ({@code flotilla_peer_received_bytes_total{peer}}); a frame whose sender cannot be decoded
 * counts under {@code peer="other"}. (The sender used to be read from the raw bytes by hand.)
 */
class PeerTrafficMetricsTest {
  private static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 1);

  private final MeterRegistry registry = new SimpleMeterRegistry();
  private final PeerInbox inbox = new PeerInbox(1, (group, from, leader) -> null, 1 << 20,
      new PeerTraffic(registry, Set.of(1L, 2L, 3L), 1), registry);

  private double received(String peer) {
    var c = registry.find("flotilla.peer.received").tag("peer", peer).counter();
    return c == null ? 0 : c.count();
  }

  /** Feeds {@code frame} to the inbox; the bytes it counted for {@code peer}. */
  private double countedFor(String peer, byte[] frame) {
    double before = received(peer);
    inbox.accept(frame, REMOTE);
    return received(peer) - before;
  }

  @Test
  void theSenderIsReadFromRaftMessagesAndSnapshotChunksOnceDecoded() {
    byte[] ae = PeerFrames.message(1, new Message.AppendEntries(1, 3, 1, 7, 10, 7,
        List.of(new Entry(11, 7, EntryType.NORMAL, new byte[256])), 10));
    assertThat(countedFor("3", ae)).isEqualTo(ae.length + 4);
    byte[] hb = PeerFrames.message(1, new Message.Heartbeat(1, 300, 2, 1, 0, 0));
    assertThat(countedFor("300", hb)).isEqualTo(hb.length + 4);
    byte[] chunk = PeerFrames.chunk(1, new SnapshotChunker.SnapshotChunk(1, 2, 1, 4, 0, 0, 0, new byte[0], false, 0));
    assertThat(countedFor("2", chunk)).isEqualTo(chunk.length + 4);
    assertThat(countedFor("other", new byte[0])).isEqualTo(4);
    assertThat(countedFor("other", new byte[] {(byte) 0x1a, 1, 2})).isEqualTo(7);
    // A chunk frame cut short (once found by PeerFuzzTest): unreadable, counted as other, and no
    // exception that would close the peer's connection.
    byte[] cut = Arrays.copyOf(chunk, chunk.length - 1);
    assertThat(countedFor("other", cut)).isEqualTo(cut.length + 4);
    byte[] badBody = PeerFrameFuzzer.rawEnvelope(1, PeerFrame.SNAPSHOT_CHUNK_FIELD_NUMBER, new byte[] {0x08});
    assertThat(countedFor("other", badBody)).isEqualTo(badBody.length + 4);
  }

  @Test
  void aFrameForAGroupThisNodeDoesNotHoldIsDroppedAsMisrouted() {
    inbox.open();
    byte[] hb = PeerFrames.message(7, new Message.Heartbeat(7, 2, 1, 1, 0, 0));
    inbox.accept(hb, REMOTE);
    byte[] chunk = PeerFrames.chunk(7, new SnapshotChunker.SnapshotChunk(7, 2, 1, 4, 0, 0, 0, new byte[0], false, 0));
    inbox.accept(chunk, REMOTE);
    inbox.accept(PeerFrame.newBuilder().setGroupId(1).build().toByteArray(), REMOTE); // no body
    assertThat(inbox.dropped(DropReason.MISROUTED)).isEqualTo(2);
    assertThat(inbox.dropped(DropReason.UNDECODABLE)).isEqualTo(1);
    assertThat(received("2")).isEqualTo(hb.length + 4 + chunk.length + 4);
  }
}
