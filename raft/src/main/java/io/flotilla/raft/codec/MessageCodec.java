package io.flotilla.raft.codec;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import java.util.Set;
import java.util.TreeSet;
import io.flotilla.raft.proto.RaftMessage;
import java.util.ArrayList;
import java.util.List;

/** Maps the core's message records to and from the protobuf wire format (raft.proto). */
public final class MessageCodec {

    private MessageCodec() {}

    public static byte[] encode(Message m) {
        return toProto(m).toByteArray();
    }

    public static Message decode(byte[] bytes) throws InvalidProtocolBufferException {
        return fromProto(RaftMessage.parseFrom(bytes));
    }

    public static RaftMessage toProto(Message m) {
        RaftMessage.Builder b = RaftMessage.newBuilder()
                .setGroupId(m.groupId()).setFrom(m.from()).setTo(m.to()).setTerm(m.term());
        if (m instanceof Message.RequestVote rv) {
            b.setRequestVote(io.flotilla.raft.proto.RequestVote.newBuilder()
                    .setLastLogIndex(rv.lastLogIndex()).setLastLogTerm(rv.lastLogTerm())
                    .setPreVote(rv.preVote()).setTransfer(rv.transfer()));
        } else if (m instanceof Message.RequestVoteResponse r) {
            b.setRequestVoteResponse(io.flotilla.raft.proto.RequestVoteResponse.newBuilder()
                    .setGranted(r.granted()).setPreVote(r.preVote()));
        } else if (m instanceof Message.AppendEntries ae) {
            io.flotilla.raft.proto.AppendEntries.Builder ab = io.flotilla.raft.proto.AppendEntries.newBuilder()
                    .setPrevLogIndex(ae.prevLogIndex()).setPrevLogTerm(ae.prevLogTerm())
                    .setLeaderCommit(ae.leaderCommit());
            for (Entry e : ae.entries()) {
                ab.addEntries(toProto(e));
            }
            b.setAppendEntries(ab);
        } else if (m instanceof Message.AppendEntriesResponse r) {
            b.setAppendEntriesResponse(io.flotilla.raft.proto.AppendEntriesResponse.newBuilder()
                    .setSuccess(r.success()).setIndex(r.index())
                    .setRejectHintIndex(r.rejectHintIndex()).setRejectHintTerm(r.rejectHintTerm()));
        } else if (m instanceof Message.Heartbeat hb) {
            b.setHeartbeat(io.flotilla.raft.proto.Heartbeat.newBuilder()
                    .setCommitIndex(hb.commitIndex()).setReadContext(hb.readContext()).setQuiesce(hb.quiesce()));
        } else if (m instanceof Message.HeartbeatResponse r) {
            b.setHeartbeatResponse(io.flotilla.raft.proto.HeartbeatResponse.newBuilder()
                    .setReadContext(r.readContext()));
        } else if (m instanceof Message.ReadIndexRequest r) {
            b.setReadIndexRequest(io.flotilla.raft.proto.ReadIndexRequest.newBuilder().setRequestId(r.requestId()));
        } else if (m instanceof Message.ReadIndexResponse r) {
            b.setReadIndexResponse(io.flotilla.raft.proto.ReadIndexResponse.newBuilder()
                    .setRequestId(r.requestId()).setReadIndex(r.readIndex()));
        } else if (m instanceof Message.TimeoutNow) {
            b.setTimeoutNow(io.flotilla.raft.proto.TimeoutNow.getDefaultInstance());
        } else if (m instanceof Message.InstallSnapshot is) {
            b.setInstallSnapshot(io.flotilla.raft.proto.InstallSnapshot.newBuilder().setSnapshot(toProto(is.snapshot())));
        } else {
            throw new IllegalArgumentException("unknown message " + m);
        }
        return b.build();
    }

    public static Message fromProto(RaftMessage p) {
        long g = p.getGroupId();
        long from = p.getFrom();
        long to = p.getTo();
        long term = p.getTerm();
        return switch (p.getBodyCase()) {
            case REQUEST_VOTE -> {
                var rv = p.getRequestVote();
                yield new Message.RequestVote(g, from, to, term, rv.getLastLogIndex(), rv.getLastLogTerm(),
                        rv.getPreVote(), rv.getTransfer());
            }
            case REQUEST_VOTE_RESPONSE -> new Message.RequestVoteResponse(g, from, to, term,
                    p.getRequestVoteResponse().getGranted(), p.getRequestVoteResponse().getPreVote());
            case APPEND_ENTRIES -> {
                var ae = p.getAppendEntries();
                List<Entry> entries = new ArrayList<>(ae.getEntriesCount());
                for (io.flotilla.raft.proto.Entry e : ae.getEntriesList()) {
                    entries.add(fromProto(e));
                }
                yield new Message.AppendEntries(g, from, to, term, ae.getPrevLogIndex(), ae.getPrevLogTerm(),
                        entries, ae.getLeaderCommit());
            }
            case APPEND_ENTRIES_RESPONSE -> {
                var r = p.getAppendEntriesResponse();
                yield new Message.AppendEntriesResponse(g, from, to, term, r.getSuccess(), r.getIndex(),
                        r.getRejectHintIndex(), r.getRejectHintTerm());
            }
            case HEARTBEAT -> new Message.Heartbeat(g, from, to, term, p.getHeartbeat().getCommitIndex(),
                    p.getHeartbeat().getReadContext(), p.getHeartbeat().getQuiesce());
            case HEARTBEAT_RESPONSE -> new Message.HeartbeatResponse(g, from, to, term,
                    p.getHeartbeatResponse().getReadContext());
            case READ_INDEX_REQUEST -> new Message.ReadIndexRequest(g, from, to, term,
                    p.getReadIndexRequest().getRequestId());
            case READ_INDEX_RESPONSE -> new Message.ReadIndexResponse(g, from, to, term,
                    p.getReadIndexResponse().getRequestId(), p.getReadIndexResponse().getReadIndex());
            case TIMEOUT_NOW -> new Message.TimeoutNow(g, from, to, term);
            case INSTALL_SNAPSHOT -> new Message.InstallSnapshot(g, from, to, term,
                    fromProto(p.getInstallSnapshot().getSnapshot()));
            case BODY_NOT_SET -> throw new IllegalArgumentException("message without body from " + from);
        };
    }

    public static io.flotilla.raft.proto.Snapshot toProto(Snapshot s) {
        return io.flotilla.raft.proto.Snapshot.newBuilder().setIndex(s.index()).setTerm(s.term())
                .setData(ByteString.copyFrom(s.data())).setConfiguration(toProto(s.configuration())).build();
    }

    public static Snapshot fromProto(io.flotilla.raft.proto.Snapshot p) {
        return new Snapshot(p.getIndex(), p.getTerm(), p.getData().toByteArray(), fromProto(p.getConfiguration()));
    }

    public static io.flotilla.raft.proto.Configuration toProto(Configuration c) {
        return io.flotilla.raft.proto.Configuration.newBuilder()
                .addAllVoters(new TreeSet<>(c.voters())).addAllOutgoing(new TreeSet<>(c.outgoing()))
                .addAllLearners(new TreeSet<>(c.learners())).addAllLearnersNext(new TreeSet<>(c.learnersNext()))
                .build();
    }

    public static Configuration fromProto(io.flotilla.raft.proto.Configuration p) {
        return new Configuration(Set.copyOf(p.getVotersList()), Set.copyOf(p.getOutgoingList()),
                Set.copyOf(p.getLearnersList()), Set.copyOf(p.getLearnersNextList()));
    }

    public static io.flotilla.raft.proto.Entry toProto(Entry e) {
        return io.flotilla.raft.proto.Entry.newBuilder()
                .setIndex(e.index()).setTerm(e.term()).setType(switch (e.type()) {
                    case NORMAL -> io.flotilla.raft.proto.EntryType.ENTRY_TYPE_NORMAL;
                    case NOOP -> io.flotilla.raft.proto.EntryType.ENTRY_TYPE_NOOP;
                    case CONF_CHANGE -> io.flotilla.raft.proto.EntryType.ENTRY_TYPE_CONF_CHANGE;
                })
                .setData(ByteString.copyFrom(e.data())).build();
    }

    public static Entry fromProto(io.flotilla.raft.proto.Entry p) {
        EntryType type = switch (p.getType()) {
            case ENTRY_TYPE_NORMAL -> EntryType.NORMAL;
            case ENTRY_TYPE_NOOP -> EntryType.NOOP;
            case ENTRY_TYPE_CONF_CHANGE -> EntryType.CONF_CHANGE;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown entry type " + p.getTypeValue());
        };
        return new Entry(p.getIndex(), p.getTerm(), type, p.getData().toByteArray());
    }
}
