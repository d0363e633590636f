package io.flotilla.server.node;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import io.flotilla.raft.Message;
import io.flotilla.raft.codec.MessageCodec;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.raft.node.SnapshotChunker.SnapshotChunk;
import io.flotilla.raft.proto.RaftMessage;
import io.flotilla.server.proto.PeerFrame;
import java.io.IOException;

/**
 * The peer port's envelope, {@code PeerFrame} (server/src/main/proto/peer.proto): a group id and
 * one body, a Raft message or a snapshot chunk. The bodies are the raft module's protobuf
 * messages, converted to and from its records only by their owners ({@link MessageCodec},
 * {@link SnapshotChunker}); this class only wraps and unwraps them.
 *
 * <p>One serialization per frame: the body is embedded as a message, so the envelope and its body
 * are written in one pass and parsed in one pass (with aliasing: entry payloads stay views of the
 * received frame until the codec copies them out).
 */
final class PeerFrames {
  private PeerFrames() {}

  /** The frame carrying Raft message {@code m} of group {@code groupId}. */
  static byte[] message(long groupId, Message m) {
    return PeerFrame.newBuilder().setGroupId(groupId).setRaftMessage(MessageCodec.toProto(m)).build().toByteArray();
  }

  /** The frame carrying snapshot chunk {@code c} of group {@code groupId}. */
  static byte[] chunk(long groupId, SnapshotChunk c) {
    return PeerFrame.newBuilder().setGroupId(groupId).setSnapshotChunk(SnapshotChunker.toProto(c)).build()
        .toByteArray();
  }

  /**
   * Parses an envelope whose byte fields alias {@code frame}, which must not change afterwards
   * (the transport hands each frame over as a fresh array).
   */
  static PeerFrame decode(byte[] frame) throws IOException {
    CodedInputStream in = UnsafeByteOperations.unsafeWrap(frame).newCodedInput();
    in.enableAliasing(true);
    PeerFrame f = PeerFrame.parseFrom(in);
    in.checkLastTagWas(0); // as parseFrom(byte[]) does: trailing junk after an end-group tag is refused
    return f;
  }

  /** The Raft message of an envelope, read by the raft module's codec. */
  static Message message(RaftMessage body) {
    return MessageCodec.fromProto(body);
  }

  /** The snapshot chunk of an envelope. */
  static SnapshotChunk chunk(io.flotilla.raft.proto.SnapshotChunk body) {
    return SnapshotChunker.fromProto(body);
  }
}
