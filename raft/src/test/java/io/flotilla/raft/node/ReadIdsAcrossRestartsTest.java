package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A follower that restarts must never take the leader's late answer to a read it sent before the
 * restart for the answer to a read sent after it. The simulator found this (seed 337, with a
 * heartbeat change that shifted timings): read request ids started at 1 in every incarnation, so
 * the leader's answer to the old request (an old read index) completed a new read, which then
 * returned a value older than a write acknowledged before it began. Ids now start at the driver's
 * clock, monotonic across restarts.
 */
class ReadIdsAcrossRestartsTest {
    private static final long GROUP = 1;

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final List<Message> sent = new ArrayList<>();

    private RaftReplica follower(MemoryStorage storage) {
        RaftConfig cfg = RaftConfig.of(GROUP, 3, Set.of(1L, 2L, 3L), new SplittableRandom(3));
        RaftReplica r = new RaftReplica(cfg, storage, sent::add, new StateMachine() {
            @Override
            public void apply(Entry entry) {
            }
        }, 10, RaftNode.SnapshotPolicy.NEVER, now::get, Runnable::run);
        // Leader 1 of term 1 makes itself known.
        r.step(new Message.Heartbeat(GROUP, 1, 3, 1, 0, 0), reason -> { });
        r.handleReady();
        return r;
    }

    private long askRead(RaftReplica r, CompletableFuture<Long> read) {
        sent.clear();
        r.read(now.get(), read);
        r.handleReady();
        return sent.stream().filter(m -> m instanceof Message.ReadIndexRequest).map(m -> (Message.ReadIndexRequest) m)
            .findFirst().orElseThrow().requestId();
    }

    @Test
    void aLateAnswerToARequestOfThePreviousIncarnationCompletesNoNewRead() {
        MemoryStorage storage = new MemoryStorage();
        CompletableFuture<Long> before = new CompletableFuture<>();
        long oldId = askRead(follower(storage), before);
        // The follower restarts (same storage) a little later and is asked for a new read.
        now.addAndGet(5_000_000);
        RaftReplica restarted = follower(storage);
        CompletableFuture<Long> after = new CompletableFuture<>();
        long newId = askRead(restarted, after);
        assertThat(newId).as("the restarted follower's first read id").isNotEqualTo(oldId);
        // The leader's answer to the old request arrives now, with the old read index.
        restarted.step(new Message.ReadIndexResponse(GROUP, 1, 3, 1, oldId, 0), reason -> { });
        restarted.handleReady();
        assertThat(after).as("a read sent after the restart, answered for one sent before it").isNotDone();
    }
}
