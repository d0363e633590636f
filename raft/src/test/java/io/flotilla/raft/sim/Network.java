package io.flotilla.raft.sim;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Failure;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.codec.MessageCodec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * A synchronous in-process network of RaftCores (after etcd-io/raft's raft_test.go {@code network}):
 * every call delivers messages until none is left, so a test reads as a script. Links can be cut,
 * nodes isolated or crashed, messages dropped with a probability or filtered by a predicate.
 * Every Ready is handled by the book: persist, sync, send, apply, advance. A peer's "state
 * machine" is its list of applied entries; {@link #compact} snapshots it (the entries themselves,
 * encoded) so a snapshot install is visible in {@link Peer#applied}.
 */
public final class Network {

    /** One node: durable storage survives crashes, the core and applied entries do not. */
    public static final class Peer {
        public final long id;
        public final MemoryStorage storage = new MemoryStorage();
        public RaftCore core;
        public final List<Entry> applied = new ArrayList<>();
        public final List<ReadState> readStates = new ArrayList<>();
        public final List<Failure> failures = new ArrayList<>();
        /** Snapshots received from a leader and installed, in order. */
        public final List<Snapshot> snapshotsInstalled = new ArrayList<>();
        boolean down;
        /** Bootstrap voters: the group's for an original member, empty for a node that joined later. */
        final Set<Long> bootstrap;

        Peer(long id, Set<Long> bootstrap) {
            this.id = id;
            this.bootstrap = Set.copyOf(bootstrap);
        }

        /** Applied NORMAL entries' payloads as strings, in order. */
        public List<String> appliedCommands() {
            List<String> out = new ArrayList<>();
            for (Entry e : applied) {
                if (e.type() == EntryType.NORMAL) {
                    out.add(new String(e.data(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
            return out;
        }
    }

    private final Map<Long, Peer> peers = new TreeMap<>();
    private final Set<Long> voters = new HashSet<>();
    private final SplittableRandom random;
    private final UnaryOperator<RaftConfig> configTweak;
    private final Set<Long> cut = new HashSet<>(); // directed links from*1000+to
    private final Map<Long, Double> dropRate = new HashMap<>();
    private Predicate<Message> filter = m -> true;
    private final ArrayDeque<Message> inFlight = new ArrayDeque<>();
    private long delivered;
    private final List<Message> trace = new ArrayList<>();
    private boolean tracing;

    public Network(int n, long seed) {
        this(n, seed, UnaryOperator.identity());
    }

    public Network(int n, long seed, UnaryOperator<RaftConfig> configTweak) {
        this.random = new SplittableRandom(seed);
        this.configTweak = configTweak;
        for (long id = 1; id <= n; id++) {
            voters.add(id);
        }
        for (long id = 1; id <= n; id++) {
            Peer p = new Peer(id, voters);
            peers.put(id, p);
            start(p);
        }
    }

    private void start(Peer p) {
        Snapshot snapshot = p.storage.snapshot();
        RaftConfig cfg = configTweak.apply(RaftConfig.of(1, p.id, p.bootstrap, random.split()))
                .withApplied(snapshot.index());
        p.core = new RaftCore(cfg, p.storage, p.storage);
        p.applied.clear();
        p.applied.addAll(decodeState(snapshot.data()));
        p.down = false;
    }

    /**
     * Snapshots {@code id}'s state machine at its applied index and compacts its log there (what
     * a driver's compaction policy does). Returns the snapshot index.
     */
    public long compact(long id) {
        Peer p = peers.get(id);
        long index = p.applied.isEmpty() ? 0 : p.applied.get(p.applied.size() - 1).index();
        if (index > 0) {
            p.storage.createSnapshot(index, encodeState(p.applied));
        }
        return index;
    }

    static byte[] encodeState(List<Entry> applied) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            for (Entry e : applied) {
                MessageCodec.toProto(e).writeDelimitedTo(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static List<Entry> decodeState(byte[] data) {
        List<Entry> out = new ArrayList<>();
        ByteArrayInputStream in = new ByteArrayInputStream(data);
        try {
            while (in.available() > 0) {
                out.add(MessageCodec.fromProto(io.flotilla.raft.proto.Entry.parseDelimitedFrom(in)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Starts a fresh node with an empty log and no configuration (what a server does for a node
     * about to be added): it waits for the leader's log or snapshot and never campaigns before.
     */
    public Peer addPeer(long id) {
        if (peers.containsKey(id)) {
            throw new IllegalArgumentException("node " + id + " exists");
        }
        Peer p = new Peer(id, Set.of());
        peers.put(id, p);
        start(p);
        return p;
    }

    public io.flotilla.raft.ConfChangeResult proposeConfChange(long id, io.flotilla.raft.ConfChange change) {
        Peer p = peers.get(id);
        io.flotilla.raft.ConfChangeResult r = p.core.proposeConfChange(change);
        drain(p);
        deliverAll();
        return r;
    }

    public boolean isDown(long id) {
        return peers.get(id).down;
    }

    public Peer peer(long id) {
        return peers.get(id);
    }

    public RaftCore core(long id) {
        return peers.get(id).core;
    }

    public List<Peer> peers() {
        return new ArrayList<>(peers.values());
    }

    /** The unique node that is leader in the highest term among live nodes, or 0. */
    public long leader() {
        long best = 0;
        long bestTerm = -1;
        for (Peer p : peers.values()) {
            if (!p.down && p.core.role() == Role.LEADER && p.core.term() > bestTerm) {
                best = p.id;
                bestTerm = p.core.term();
            }
        }
        return best;
    }

    public long messagesDelivered() {
        return delivered;
    }

    /** Records every delivered message until {@link #stopTrace()}. */
    public void startTrace() {
        trace.clear();
        tracing = true;
    }

    public List<Message> stopTrace() {
        tracing = false;
        return new ArrayList<>(trace);
    }

    // ---------------------------------------------------------------- faults

    public void cut(long a, long b) {
        cut.add(a * 1000 + b);
        cut.add(b * 1000 + a);
    }

    /** Blocks only a → b. */
    public void cutOneWay(long from, long to) {
        cut.add(from * 1000 + to);
    }

    public void isolate(long id) {
        for (long other : peers.keySet()) {
            if (other != id) {
                cut(id, other);
            }
        }
    }

    public void drop(long from, long to, double rate) {
        dropRate.put(from * 1000 + to, rate);
    }

    /** Drops every message with this probability, on every link. */
    public void dropAll(double rate) {
        for (long a : peers.keySet()) {
            for (long b : peers.keySet()) {
                if (a != b) {
                    drop(a, b, rate);
                }
            }
        }
    }

    /** Only messages matching {@code keep} are delivered (etcd's ignore). */
    public void filter(Predicate<Message> keep) {
        this.filter = keep;
    }

    public void recover() {
        cut.clear();
        dropRate.clear();
        filter = m -> true;
    }

    /** Loses unforced writes and all volatile state. */
    public void crash(long id) {
        Peer p = peers.get(id);
        p.storage.crash();
        p.down = true;
    }

    public void restart(long id) {
        start(peers.get(id));
        deliverAll();
    }

    // ---------------------------------------------------------------- inputs

    public void tick(long id) {
        Peer p = peers.get(id);
        if (!p.down) {
            p.core.tick();
            drain(p);
            deliverAll();
        }
    }

    public void tickAll(int times) {
        for (int i = 0; i < times; i++) {
            for (long id : peers.keySet()) {
                tick(id);
            }
        }
    }

    public void campaign(long id) {
        Peer p = peers.get(id);
        p.core.campaign();
        drain(p);
        deliverAll();
    }

    public ProposeResult propose(long id, String command) {
        Peer p = peers.get(id);
        ProposeResult r = p.core.propose(command.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        drain(p);
        deliverAll();
        return r;
    }

    public ReadResult readIndex(long id, long requestId) {
        Peer p = peers.get(id);
        ReadResult r = p.core.readIndex(requestId);
        drain(p);
        deliverAll();
        return r;
    }

    /** Sends raw messages into the network (e.g. a crafted stale message). */
    public void send(Message... messages) {
        inFlight.addAll(List.of(messages));
        deliverAll();
    }

    // ---------------------------------------------------------------- plumbing

    /** Handles every pending Ready of {@code p} by the book. */
    public void drain(Peer p) {
        while (!p.down && p.core.hasReady()) {
            Ready rd = p.core.ready();
            if (rd.snapshot() != null) {
                p.storage.applySnapshot(rd.snapshot());
            }
            p.storage.append(rd.entries());
            if (rd.hardState() != null) {
                p.storage.setHardState(rd.hardState());
            }
            p.storage.sync();
            inFlight.addAll(rd.messages());
            if (rd.snapshot() != null) {
                p.applied.clear();
                p.applied.addAll(decodeState(rd.snapshot().data()));
                p.snapshotsInstalled.add(rd.snapshot());
            }
            p.applied.addAll(rd.committedEntries());
            p.readStates.addAll(rd.readStates());
            p.failures.addAll(rd.failures());
            p.core.advance(rd);
        }
    }

    private void deliverAll() {
        int guard = 0;
        while (!inFlight.isEmpty()) {
            if (++guard > 1_000_000) {
                throw new AssertionError("message storm: the network never went quiet");
            }
            Message m = inFlight.pollFirst();
            Peer to = peers.get(m.to());
            if (to == null) {
                continue; // a node that was never started: unreachable
            }
            Double rate = dropRate.get(m.from() * 1000 + m.to());
            if (to.down || peers.get(m.from()).down || cut.contains(m.from() * 1000 + m.to()) || !filter.test(m)
                    || (rate != null && random.nextDouble() < rate)) {
                continue;
            }
            delivered++;
            if (tracing) {
                trace.add(m);
            }
            CheckedStep.step(to.core, m);
            drain(to);
        }
    }
}
