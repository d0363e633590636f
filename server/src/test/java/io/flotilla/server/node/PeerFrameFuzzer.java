package io.flotilla.server.node;

import com.google.protobuf.ByteString;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.Role;
import io.flotilla.raft.codec.MessageCodec;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.SnapshotChunker;
import io.flotilla.raft.proto.RaftMessage;
import io.flotilla.server.proto.PeerFrame;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends random and mutated peer frames to one node's peer port over a connection of its own, as a
 * stray or broken peer would. What it sends is invalid by construction: garbage (as the whole frame,
 * a malformed envelope, or as the body of a well-formed one); messages that
 * break a structural rule; messages a member never sends in that state (a match past the leader's
 * log, a heartbeat committing past any log, a second leader of the leader's term, a ReadIndex
 * answer from a node that is not the leader); misaddressed messages; answers and snapshot chunks
 * from strangers; frames for groups the node does not hold; bit-flipped, truncated and extended
 * copies of all these (of the whole envelope, or of its body only).
 *
 * <p>What it never sends: a well-formed message that claims to come from a member in a plausible
 * state. Raft believes members (the peer port authenticates nobody, docs/protocol.md), so such a
 * forgery could corrupt any Raft cluster; a mutated frame that decodes into one is skipped.
 */
final class PeerFrameFuzzer implements Runnable {
  private static final long FAR = 1L << 40; // beyond any log this test writes

  private final FlotillaNode target;
  private final long self;
  private final int port;
  private final SplittableRandom r;
  private final AtomicBoolean stop;
  private long sent;
  private long skipped;
  private long reconnects;
  // The target's state, refreshed every few frames (a little stale: that is fine, see the cases).
  private long term;
  private long leaderId;
  private Role role = Role.FOLLOWER;
  private long commit;

  PeerFrameFuzzer(FlotillaNode target, long self, int port, SplittableRandom r, AtomicBoolean stop) {
    this.target = target;
    this.self = self;
    this.port = port;
    this.r = r;
    this.stop = stop;
  }

  long framesSent() {
    return sent;
  }

  String summary() {
    return "node " + self + ": " + sent + " sent, " + skipped + " skipped, " + reconnects + " reconnects";
  }

  @Override
  public void run() {
    Socket socket = null;
    DataOutputStream out = null;
    while (!stop.get()) {
      try {
        if (socket == null) {
          socket = new Socket();
          socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
          out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
        }
        if (sent % 50 == 0) {
          refresh();
        }
        byte[] frame = next();
        if (frame == null) {
          skipped++;
          continue;
        }
        out.writeInt(frame.length);
        out.write(frame);
        sent++;
        if (sent % 16 == 0) {
          out.flush();
          // Pacing, not waiting for anything: a few thousand frames a second per node leave the
          // shared two cores to the cluster and its clients.
          LockSupport.parkNanos(5_000_000);
        }
      } catch (IOException e) {
        reconnects++;
        close(socket);
        socket = null;
        LockSupport.parkNanos(10_000_000);
      }
    }
    close(socket);
  }

  private static void close(Socket s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException ignored) {
        // going away anyway
      }
    }
  }

  private void refresh() {
    try {
      RaftNode.Status s = target.raftStatus();
      term = s.term();
      leaderId = s.leaderId();
      role = s.role();
      commit = s.commitIndex();
    } catch (Exception e) {
      // keep the last view
    }
  }

  /** A member other than the target (and, if {@code notLeader}, other than its leader), or 0. */
  private long otherMember(boolean notLeader) {
    List<Long> ids = new ArrayList<>();
    for (long id = 1; id <= 3; id++) {
      if (id != self && !(notLeader && id == leaderId)) {
        ids.add(id);
      }
    }
    return ids.isEmpty() ? 0 : ids.get(r.nextInt(ids.size()));
  }

  private long stranger() {
    return 1000 + r.nextInt(1 << 20);
  }

  private Entry entry(long index, long t) {
    return new Entry(index, Math.max(1, t), EntryType.NORMAL, new byte[] {(byte) index});
  }

  /** The next frame, or null if this draw produced nothing worth sending. */
  private byte[] next() {
    int kind = r.nextInt(100);
    long x = otherMember(false);
    byte[] frame;
    boolean deliberate = true; // built invalid on purpose (and from a member, some of them)
    if (kind < 12) {
      byte[] junk = new byte[r.nextInt(300)];
      r.nextBytes(junk);
      // Junk as the whole frame (a malformed envelope), or as a body in a well-formed one.
      frame = switch (r.nextInt(3)) {
        case 0 -> junk;
        case 1 -> rawEnvelope(1, PeerFrame.RAFT_MESSAGE_FIELD_NUMBER, junk);
        default -> rawEnvelope(1, PeerFrame.SNAPSHOT_CHUNK_FIELD_NUMBER, junk);
      };
      deliberate = false;
    } else if (kind < 27) {
      frame = envelope(brokenAppend(x));
    } else if (kind < 34) {
      // A match (or a rejected index) far past the leader's log, in its term.
      frame = envelope(new Message.AppendEntriesResponse(1, x, self, term, r.nextBoolean(),
          FAR + r.nextInt(1000), 0, 0));
    } else if (kind < 41) {
      frame = envelope(new Message.Heartbeat(1, x, self, term + r.nextInt(2), FAR + r.nextInt(1000), 0));
    } else if (kind < 47) {
      if (role != Role.LEADER) {
        return null;
      }
      // A second leader of the target's own term; prevLogIndex past any log, so that even if the
      // target stepped down meanwhile (same term) nothing of it can be appended.
      frame = envelope(r.nextBoolean()
          ? new Message.AppendEntries(1, x, self, term, FAR, Math.max(1, term), List.of(), 0)
          : new Message.Heartbeat(1, x, self, term, 0, 0));
    } else if (kind < 57) {
      frame = envelope(misaddressed());
    } else if (kind < 69) {
      long from = stranger();
      long t = r.nextInt(4) == 0 ? Math.max(0, term - r.nextInt(2)) : term + 1 + r.nextInt(3);
      frame = envelope(switch (r.nextInt(4)) {
        case 0 -> new Message.AppendEntriesResponse(1, from, self, t, true, r.nextInt(100), 0, 0);
        case 1 -> new Message.HeartbeatResponse(1, from, self, t, r.nextInt(10));
        case 2 -> new Message.RequestVoteResponse(1, from, self, t, true, r.nextBoolean());
        default -> new Message.ReadIndexRequest(1, from, self, t, r.nextInt(100));
      });
    } else if (kind < 75) {
      long notLeader = otherMember(true);
      if (role != Role.FOLLOWER || leaderId == 0 || notLeader == 0) {
        return null;
      }
      // A read index from a node that is not the leader: in a term far ahead, which no election
      // of this test reaches, so it can never pass for the leader's answer.
      frame = envelope(new Message.ReadIndexResponse(1, notLeader, self, term + 1000 + r.nextInt(1000),
          1 + r.nextInt(50), 0));
    } else if (kind < 88) {
      frame = chunk();
    } else if (kind < 94) {
      frame = undecodable(x);
    } else {
      return mutate(envelope(misaddressed()));
    }
    if (r.nextInt(5) == 0) {
      return mutate(frame);
    }
    return deliberate ? frame : screened(frame);
  }

  /**
   * {@code m} in the peer port's envelope. The envelope names the message's own group, except now
   * and then a misaddressed message's goes in group 1's envelope: then the group inside is wrong.
   */
  private byte[] envelope(Message m) {
    long group = m.groupId() != 1 && r.nextBoolean() ? 1 : m.groupId();
    return PeerFrames.message(group, m);
  }

  /** AppendEntries from a member, in a term the target would take, breaking one structural rule. */
  private Message brokenAppend(long from) {
    long t = term + r.nextInt(3);
    long prev = r.nextInt((int) Math.min(commit + 6, 1_000_000));
    long prevTerm = prev == 0 ? 0 : Math.max(1, t - 1);
    List<Entry> entries = new ArrayList<>();
    switch (r.nextInt(6)) {
      case 0 -> entries.addAll(List.of(entry(prev + 2, t), entry(prev + 3, t))); // gap after prev
      case 1 -> { // starting at prev itself (prev >= 1, or it would be right)
        prev = Math.max(1, prev);
        prevTerm = Math.max(1, t - 1);
        entries.addAll(List.of(entry(prev, t), entry(prev + 1, t)));
      }
      case 2 -> entries.addAll(List.of(entry(prev + 1, t), entry(prev + 3, t))); // hole
      case 3 -> {
        return new Message.AppendEntries(1, from, self, t, prev, prevTerm, List.of(entry(prev + 1, t + 5)), commit);
      }
      case 4 -> {
        return new Message.AppendEntries(1, from, self, t, -1 - r.nextInt(10), prevTerm, List.of(), commit);
      }
      default -> {
        return new Message.AppendEntries(1, from, self, t, prev + 1, t + 1, List.of(), commit);
      }
    }
    return new Message.AppendEntries(1, from, self, t, prev, prevTerm, entries, commit);
  }

  /** A plausible message with one addressing defect: another group, node, or no real sender. */
  private Message misaddressed() {
    long group = 1;
    long to = self;
    long from = otherMember(false);
    switch (r.nextInt(4)) {
      case 0 -> group = 2 + r.nextInt(5);
      case 1 -> to = r.nextBoolean() ? from : 4 + r.nextInt(100);
      case 2 -> from = self;
      default -> from = -r.nextInt(3);
    }
    return switch (r.nextInt(3)) {
      case 0 -> new Message.Heartbeat(group, from, to, term + 1, 0, 0);
      case 1 -> new Message.RequestVote(group, from, to, term + 1, FAR, term + 1, false, false);
      default -> new Message.AppendEntries(group, from, to, term + 1, 0, 0, List.of(entry(1, term + 1)), 1);
    };
  }

  /**
   * A snapshot chunk from a stranger, or from a member that is not the target's leader in a term
   * not above the target's; never with a checksum that could match (non-empty data, random CRC).
   */
  private byte[] chunk() {
    boolean member = r.nextBoolean();
    long from = member ? otherMember(true) : stranger();
    if (from == 0) {
      from = stranger();
    }
    long t = member ? Math.max(1, term - r.nextInt(2)) : term + r.nextInt(3);
    byte[] data = new byte[1 + r.nextInt(16 * 1024)];
    r.nextBytes(data);
    long offset = r.nextInt(3) == 0 ? r.nextLong() : r.nextBoolean() ? 0 : r.nextInt(1 << 20);
    var c = new SnapshotChunker.SnapshotChunk(1, from, r.nextInt(10) == 0 ? 3 + self : self, Math.max(1, t),
        1 + r.nextInt(1000), Math.max(1, t - r.nextInt(2)), offset, data, r.nextBoolean(), r.nextInt() | 1);
    return PeerFrames.chunk(1, c);
  }

  /** Protobuf that parses but that no message record accepts. */
  private byte[] undecodable(long from) {
    RaftMessage.Builder b = RaftMessage.newBuilder().setGroupId(1).setFrom(from).setTo(self).setTerm(term + 1);
    switch (r.nextInt(3)) {
      case 0 -> { } // no body at all
      case 1 -> b.setAppendEntries(io.flotilla.raft.proto.AppendEntries.newBuilder()
          .addEntries(io.flotilla.raft.proto.Entry.newBuilder().setIndex(0).setTerm(1)));
      default -> b.setAppendEntries(io.flotilla.raft.proto.AppendEntries.newBuilder()
          .addEntries(io.flotilla.raft.proto.Entry.newBuilder().setIndex(1).setTerm(1).setTypeValue(7)
              .setData(ByteString.copyFromUtf8("x"))));
    }
    return PeerFrame.newBuilder().setGroupId(1).setRaftMessage(b.build()).build().toByteArray();
  }

  /**
   * An envelope of group {@code group} whose body field {@code field} holds {@code body} as it is:
   * the only way to send a body that is not a valid message, which is the point.
   */
  static byte[] rawEnvelope(long group, int field, byte[] body) {
    try {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      com.google.protobuf.CodedOutputStream c = com.google.protobuf.CodedOutputStream.newInstance(out);
      c.writeUInt64(PeerFrame.GROUP_ID_FIELD_NUMBER, group);
      c.writeByteArray(field, body);
      c.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Flips bits, truncates or extends the whole frame (the envelope) or, half the time, only its
   * body in an intact envelope; the result is screened like any random frame.
   */
  private byte[] mutate(byte[] frame) {
    if (r.nextBoolean()) {
      try {
        PeerFrame f = PeerFrame.parseFrom(frame);
        if (f.hasRaftMessage()) {
          return screened(rawEnvelope(f.getGroupId(), PeerFrame.RAFT_MESSAGE_FIELD_NUMBER,
              mutated(f.getRaftMessage().toByteArray())));
        }
        if (f.hasSnapshotChunk()) {
          return screened(rawEnvelope(f.getGroupId(), PeerFrame.SNAPSHOT_CHUNK_FIELD_NUMBER,
              mutated(f.getSnapshotChunk().toByteArray())));
        }
      } catch (IOException notAnEnvelope) {
        // mutate it whole, below
      }
    }
    return screened(mutated(frame));
  }

  private byte[] mutated(byte[] frame) {
    byte[] m = frame;
    switch (r.nextInt(3)) {
      case 0 -> {
        m = frame.clone();
        for (int i = 0, n = 1 + r.nextInt(3); i < n && m.length > 0; i++) {
          m[r.nextInt(m.length)] ^= (byte) (1 << r.nextInt(8));
        }
      }
      case 1 -> m = java.util.Arrays.copyOf(frame, frame.length == 0 ? 0 : r.nextInt(frame.length));
      default -> {
        m = java.util.Arrays.copyOf(frame, frame.length + 1 + r.nextInt(20));
        for (int i = frame.length; i < m.length; i++) {
          m[i] = (byte) r.nextInt(256);
        }
      }
    }
    return m;
  }

  /**
   * Null if {@code frame} happens to decode into something the target would believe: a message or
   * chunk from another member, or a leader's or candidate's message from anyone (a joining or
   * lagging node must hear leaders it does not know yet). That would be a forgery, which no Raft
   * survives (see the class comment), not a malformed frame.
   */
  private byte[] screened(byte[] frame) {
    try {
      PeerFrame f = PeerFrame.parseFrom(frame);
      long from;
      long to;
      long group;
      boolean leaderOrCandidate = false;
      if (f.hasSnapshotChunk()) {
        var c = SnapshotChunker.decode(f.getSnapshotChunk().toByteArray());
        from = c.from();
        to = c.to();
        group = c.groupId();
      } else if (f.hasRaftMessage()) {
        Message m = MessageCodec.decode(f.getRaftMessage().toByteArray());
        from = m.from();
        to = m.to();
        group = m.groupId();
        leaderOrCandidate = m instanceof Message.AppendEntries || m instanceof Message.Heartbeat
            || m instanceof Message.InstallSnapshot || m instanceof Message.TimeoutNow
            || m instanceof Message.RequestVote;
      } else {
        return frame; // no body: dropped as undecodable
      }
      boolean forgery = f.getGroupId() == 1 && group == 1 && to == self && from >= 1 && from != self
          && (from <= 3 || leaderOrCandidate);
      return forgery ? null : frame;
    } catch (Exception undecodable) {
      return frame;
    }
  }
}
