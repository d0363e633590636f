package io.flotilla.server.node;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
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
 * one body, a Raft message or a snapshot chunk. The bodies' bytes are encoded and decoded by their
 * owners ({@link MessageCodec}, {@link SnapshotChunker}); this class only wraps and unwraps them.
 *
 * <p>No needless copy on the hot path: an outgoing body is wrapped, not copied, into the envelope
 * (its one copy is the write into the frame), and an incoming envelope is parsed with aliasing, so
 * its body is a view of the received frame.
 */
final class PeerFrames {
  private PeerFrames() {}

  /** The frame carrying Raft message {@code m} of group {@code groupId}. */
  static byte[] message(long groupId, Message m) {
    // unsafeWrap: the array is fresh from the codec and never touched again.
    return PeerFrame.newBuilder().setGroupId(groupId)
        .setRaftMessage(UnsafeByteOperations.unsafeWrap(MessageCodec.encode(m))).build().toByteArray();
  }

  /** The frame carrying snapshot chunk {@code c} of group {@code groupId}. */
  static byte[] chunk(long groupId, SnapshotChunk c) {
    return PeerFrame.newBuilder().setGroupId(groupId)
        .setSnapshotChunk(UnsafeByteOperations.unsafeWrap(SnapshotChunker.encode(c))).build().toByteArray();
  }

  /**
   * Parses an envelope whose bodies alias {@code frame}, which must not change afterwards (the
   * transport hands each frame over as a fresh array).
   */
  static PeerFrame decode(byte[] frame) throws IOException {
    CodedInputStream in = UnsafeByteOperations.unsafeWrap(frame).newCodedInput();
    in.enableAliasing(true);
    PeerFrame f = PeerFrame.parseFrom(in);
    in.checkLastTagWas(0); // as parseFrom(byte[]) does: trailing junk after an end-group tag is refused
    return f;
  }

  /** The Raft message in {@code body} (a {@code raft_message}), read by the raft module's codec. */
  static Message message(ByteString body) throws IOException {
    CodedInputStream in = body.newCodedInput();
    in.enableAliasing(true); // entry payloads stay views until the codec copies them out
    RaftMessage p = RaftMessage.parseFrom(in);
    in.checkLastTagWas(0);
    return MessageCodec.fromProto(p);
  }

  /**
   * The snapshot chunk in {@code body}. {@link SnapshotChunker} decodes arrays only, so this copies
   * the body once: snapshots are rare, and a chunk is at most 1 MiB.
   */
  static SnapshotChunk chunk(ByteString body) throws InvalidProtocolBufferException {
    return SnapshotChunker.decode(body.toByteArray());
  }
}
