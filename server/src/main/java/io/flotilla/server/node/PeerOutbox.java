package io.flotilla.server.node;

import io.flotilla.raft.Message;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.raft.node.SnapshotChunker.SnapshotChunk;
import io.flotilla.raft.node.Transport;
import io.flotilla.server.net.PeerFrameKind;
import io.flotilla.server.net.PeerTransport;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer port's outbound path: each replica's Raft messages, in {@link PeerFrames envelopes}
 * naming its group, to the peer transport. A snapshot goes out in chunks of
 * {@value #SNAPSHOT_CHUNK_BYTES} bytes (the receiver reassembles it), unless one is still in flight
 * to that peer: Raft is not told (docs/raft.md, "Snapshots to a slow follower"). Everything else is
 * one frame with its kind, so the transport can coalesce heartbeats without decoding them.
 */
final class PeerOutbox {
  private static final Logger LOG = LoggerFactory.getLogger(PeerOutbox.class);
  static final int SNAPSHOT_CHUNK_BYTES = 1 << 20;

  private final PeerTransport peers;

  PeerOutbox(PeerTransport peers) {
    this.peers = peers;
  }

  /** The transport of the replica of {@code groupId}; called on its Raft loop. */
  Transport forGroup(long groupId) {
    return m -> send(groupId, m);
  }

  private void send(long groupId, Message m) {
    if (m instanceof Message.InstallSnapshot install) {
      if (!peers.sendSnapshot(m.to(), () -> chunkFrames(groupId, install))) {
        LOG.debug("snapshot at {} to node {} not sent: one is in flight", install.snapshot().index(), m.to());
      }
    } else {
      peers.send(m.to(), m instanceof Message.Heartbeat ? PeerFrameKind.HEARTBEAT : PeerFrameKind.OTHER, groupId,
          PeerFrames.message(groupId, m));
    }
  }

  private static List<byte[]> chunkFrames(long groupId, Message.InstallSnapshot install) {
    List<SnapshotChunk> chunks = SnapshotChunker.split(install, SNAPSHOT_CHUNK_BYTES);
    LOG.info("sending snapshot at {} to node {}: {} bytes in {} chunks", install.snapshot().index(),
        install.to(), install.snapshot().sizeBytes(), chunks.size());
    List<byte[]> frames = new ArrayList<>(chunks.size());
    for (SnapshotChunk c : chunks) {
      frames.add(PeerFrames.chunk(groupId, c));
    }
    return frames;
  }
}
