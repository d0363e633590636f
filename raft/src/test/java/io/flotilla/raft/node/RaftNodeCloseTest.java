package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.storage.MemoryStorage;
import io.flotilla.raft.storage.RaftStorage;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 item 8: {@link RaftNode#close} waits (bounded) for the loop to finish its round, so
 * that nothing is persisted after it returns: the server closes the log right after, and a
 * round still running could write the hard-state file behind a reopened log's back.
 * Deterministic: the test's clock moves time, the test holds the force.
 */
class RaftNodeCloseTest {

    private static final long SEED = 1408;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final AtomicLong clock = new AtomicLong();
    /** What happened, in order: storage writes and the test's own marks. */
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final CountDownLatch holding = new CountDownLatch(1);
    private final CountDownLatch gate = new CountDownLatch(1);
    private volatile boolean holdNextSync;
    private RaftNode node;

    @AfterEach
    void release() {
        gate.countDown();
        if (node != null) {
            node.close();
        }
    }

    /** MemoryStorage whose next force the test can hold; records each force with its hard state. */
    private final class HeldStorage implements RaftStorage {
        private final MemoryStorage inner = new MemoryStorage();

        @Override
        public void sync() {
            if (holdNextSync) {
                holdNextSync = false;
                holding.countDown();
                try {
                    gate.await(60, TimeUnit.SECONDS); // bounded so that a broken test cannot hang the build
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            inner.sync();
            events.add("force, term " + inner.hardState().term());
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

    /** A single voter: it elects itself once its election timeout passes on the test's clock. */
    private RaftNode startSingleVoter(StateMachine sm) {
        node = new RaftNode(RaftConfig.of(1, 1, Set.of(1L), new SplittableRandom(SEED)), new HeldStorage(),
                m -> { }, sm, 10, RaftNode.SnapshotPolicy.NEVER, clock::get);
        node.start();
        return node;
    }

    private static final StateMachine NOTHING = entry -> { };

    @Test
    void closeReturnsOnlyAfterTheRoundInProgressHasWrittenItsHardState() throws Exception {
        startSingleVoter(NOTHING);
        holdNextSync = true;
        clock.addAndGet(30 * TICK_NANOS); // past any election timeout: it campaigns, votes for itself
        assertThat(holding.await(30, TimeUnit.SECONDS)).as("a force of the new term reached").isTrue();

        Thread closer = new Thread(() -> {
            node.close();
            events.add("close returned");
        }, "closer");
        closer.start();
        // Let the force finish only once close() is waiting for it (or, without the fix, is done).
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1))
                .until(() -> closer.getState() == Thread.State.TIMED_WAITING || !closer.isAlive());
        gate.countDown();
        closer.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(closer.isAlive()).as("close returned").isFalse();

        List<String> seen = List.copyOf(events);
        int closed = seen.indexOf("close returned");
        assertThat(seen.subList(0, closed)).as("seed %d: the held force finished before close returned", SEED)
                .anyMatch(e -> e.startsWith("force, term"));
        assertThat(seen.subList(closed + 1, seen.size())).as("storage writes after close returned").isEmpty();
    }

    @Test
    void closeWaitsOnlyAsLongAsItsBoundForARoundThatDoesNotFinish() throws Exception {
        startSingleVoter(NOTHING);
        holdNextSync = true;
        clock.addAndGet(30 * TICK_NANOS);
        assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
        // The force is held for good (a dead disk): close gives up after its bound, says so.
        assertThat(node.close(Duration.ofMillis(50))).as("loop finished").isFalse();
        assertThat(events).as("the held force has not finished").isEmpty();
        gate.countDown();
        assertThat(node.close(Duration.ofSeconds(30))).as("loop finished once the force returned").isTrue();
    }

    @Test
    void aStateMachineThatClosesItsNodeFromApplyDoesNotWaitForItself() {
        CompletableFuture<Boolean> closedFromApply = new CompletableFuture<>();
        RaftNode[] self = new RaftNode[1];
        self[0] = startSingleVoter(entry -> {
            if (!closedFromApply.isDone()) {
                // A huge bound: were close to wait for its own thread, this would hang.
                closedFromApply.complete(self[0].close(Duration.ofHours(1)));
            }
        });
        clock.addAndGet(30 * TICK_NANOS); // elected, then applies its no-op
        await().atMost(Duration.ofSeconds(30)).until(closedFromApply::isDone);
        assertThat(closedFromApply.join()).as("finished (it cannot be: the caller is the loop)").isFalse();
        assertThat(node.isStopped()).isTrue();
    }
}
