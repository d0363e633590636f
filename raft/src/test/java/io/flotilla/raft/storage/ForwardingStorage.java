package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import java.util.List;

/** A {@link RaftStorage} that forwards to a {@link MemoryStorage}: tests override what they fault. */
public abstract class ForwardingStorage implements RaftStorage {

    protected final MemoryStorage inner;

    protected ForwardingStorage(MemoryStorage inner) {
        this.inner = inner;
    }

    @Override
    public void append(List<Entry> entries) {
        inner.append(entries);
    }

    @Override
    public void setHardState(HardState hardState) {
        inner.setHardState(hardState);
    }

    @Override
    public void applySnapshot(Snapshot snapshot) {
        inner.applySnapshot(snapshot);
    }

    @Override
    public void createSnapshot(long index, Configuration configuration, byte[] data) {
        inner.createSnapshot(index, configuration, data);
    }

    @Override
    public void sync() {
        inner.sync();
    }

    @Override
    public HardState hardState() {
        return inner.hardState();
    }

    @Override
    public long firstIndex() {
        return inner.firstIndex();
    }

    @Override
    public Snapshot snapshot() {
        return inner.snapshot();
    }

    @Override
    public long lastIndex() {
        return inner.lastIndex();
    }

    @Override
    public long term(long index) {
        return inner.term(index);
    }

    @Override
    public List<Entry> entries(long from, long toExclusive, long maxBytes) {
        return inner.entries(from, toExclusive, maxBytes);
    }
}
