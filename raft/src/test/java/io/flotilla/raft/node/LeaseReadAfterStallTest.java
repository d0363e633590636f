package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.storage.MemoryStorage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 item 2: a lease read after a stall of the leader's Raft loop. Three RaftNodes with
 * lease reads on, every one counting ticks on the test's clock, so time moves only when the test
 * advances it (no sleeps, no timing margins): the verdict does not depend on the machine's speed.
 *
 * <p>The sequence: leader L holds a lease; L's loop stalls (its state machine blocks in apply, or
 * the test-only stall hook); L is isolated; the other two elect L2, which commits and applies
 * {@code b}; a LINEARIZABLE read is sent to L; L's loop resumes. The read must not be served from
 * L's state, which lacks {@code b}: with the lease judged at the clock's time it has run out, and
 * the isolated L cannot confirm its leadership, so the read fails once L steps down.
 *
 * <p>Before the fix the read queued during the stall was handled before the ticks the stall had
 * delayed, the lease still looked fresh, and the read was answered at L's old commit index.
 */
class LeaseReadAfterStallTest {

    private static final long SEED = 1402;
    private static final long TICK_MILLIS = 10;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);

    /** Every node's clock: nanoseconds that pass only when the test says. */
    private final AtomicLong clock = new AtomicLong();
    private final InProcessTransport network = new InProcessTransport();
    private final Set<Long> isolated = ConcurrentHashMap.newKeySet();
    private final Map<Long, RaftNode> nodes = new ConcurrentHashMap<>();
    private final Map<Long, GatedMachine> machines = new ConcurrentHashMap<>();

    /** A state machine whose next apply the test can hold. */
    private static final class GatedMachine implements StateMachine {
        final List<String> commands = new CopyOnWriteArrayList<>();
        final CountDownLatch holding = new CountDownLatch(1);
        private final CountDownLatch gate = new CountDownLatch(1);
        private volatile boolean holdNext;

        @Override
        public void apply(Entry entry) {
            if (entry.type() == EntryType.NORMAL) {
                commands.add(new String(entry.data(), StandardCharsets.UTF_8));
            }
        }

        @Override
        public void applyAll(List<Entry> entries) {
            if (holdNext) {
                holdNext = false;
                holding.countDown();
                try {
                    // Bounded so that a broken test cannot hang the build; the test opens it.
                    gate.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            StateMachine.super.applyAll(entries);
        }

        void holdNextApply() {
            holdNext = true;
        }

        void release() {
            gate.countDown();
        }
    }

    @AfterEach
    void close() {
        machines.values().forEach(GatedMachine::release);
        nodes.values().forEach(RaftNode::close);
    }

    private void startCluster() {
        Transport transport = m -> {
            if (!isolated.contains(m.from()) && !isolated.contains(m.to())) {
                network.send(m);
            }
        };
        for (long id = 1; id <= 3; id++) {
            GatedMachine sm = new GatedMachine();
            RaftConfig config = RaftConfig.of(1, id, Set.of(1L, 2L, 3L), new SplittableRandom(SEED * 10 + id))
                    .withLeaseRead(2);
            RaftNode node = new RaftNode(config, new MemoryStorage(), transport, sm, TICK_MILLIS,
                    RaftNode.SnapshotPolicy.NEVER, clock::get);
            network.register(node);
            nodes.put(id, node);
            machines.put(id, sm);
        }
        nodes.values().forEach(RaftNode::start);
    }

    private void advanceTicks(long ticks) {
        clock.addAndGet(ticks * TICK_NANOS);
    }

    /**
     * Advances time a tick per poll until one of {@code among} leads and the others of it follow
     * it. With the clock then left alone nothing times out, so that leadership stays put.
     */
    private RaftNode awaitStableLeader(Set<Long> among) {
        return await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .until(() -> {
                    advanceTicks(1);
                    List<RaftNode> leaders = new ArrayList<>();
                    for (long id : among) {
                        if (nodes.get(id).isLeader()) {
                            leaders.add(nodes.get(id));
                        }
                    }
                    if (leaders.size() != 1) {
                        return null;
                    }
                    RaftNode leader = leaders.get(0);
                    boolean followed = among.stream().allMatch(id -> nodes.get(id).leaderId() == leader.id());
                    return followed ? leader : null;
                }, java.util.Objects::nonNull);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The sequence of the class comment; {@code stall} stalls the leader's loop and returns once
     * it is stalled, {@code resume} lets it go on.
     */
    private void staleReadScenario(Consumer<RaftNode> stall, Consumer<RaftNode> resume) throws Exception {
        startCluster();
        RaftNode leader = awaitStableLeader(Set.of(1L, 2L, 3L));
        long l = leader.id();
        // With the clock still, the leader's heartbeats of the last ticks were acknowledged
        // within its lease, so a read now would be answered without a heartbeat round.
        assertThat(leader.propose(bytes("a")).get(30, TimeUnit.SECONDS)).isPositive();
        await().atMost(Duration.ofSeconds(30)).until(() -> machines.get(l).commands.contains("a"));

        stall.accept(leader);
        isolated.add(l);
        Set<Long> others = new java.util.TreeSet<>(nodes.keySet());
        others.remove(l);
        RaftNode newLeader = awaitStableLeader(others);
        assertThat(newLeader.term()).isGreaterThan(leader.term());
        long bIndex = newLeader.propose(bytes("b")).get(30, TimeUnit.SECONDS);
        assertThat(machines.get(newLeader.id()).commands).as("b applied on the new leader").contains("b");

        // b is acknowledged; now a LINEARIZABLE read reaches the old leader, queued behind the stall.
        CompletableFuture<Long> read = leader.linearizableRead();
        resume.accept(leader);
        await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5))
                .until(() -> {
                    advanceTicks(1);
                    return read.isDone();
                });
        if (!read.isCompletedExceptionally()) {
            assertThat(machines.get(l).commands)
                    .as("seed %d: the read on old leader %d was answered at index %d (b is at %d on new leader"
                            + " %d); it must see b, or fail", SEED, l, read.join(), bIndex, newLeader.id())
                    .contains("b");
        }
        ExecutionException failed = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, read::get);
        assertThat(failed.getCause()).as("a typed refusal").isInstanceOf(RaftException.class);
        assertThat(machines.get(l).commands).doesNotContain("b");
    }

    @Test
    void aLeaseReadQueuedWhileTheStateMachineBlocksInApplyIsNotAnsweredFromTheOldState() throws Exception {
        staleReadScenario(leader -> {
            GatedMachine sm = machines.get(leader.id());
            sm.holdNextApply();
            leader.propose(bytes("x")); // committed with the followers, then its apply blocks
            try {
                assertThat(sm.holding.await(30, TimeUnit.SECONDS)).as("apply of x reached").isTrue();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, leader -> machines.get(leader.id()).release());
    }

    @Test
    void aLeaseReadQueuedDuringATestStallIsNotAnsweredFromTheOldState() throws Exception {
        long stallMillis = 1_000_000; // of the test clock: far longer than the election run meanwhile
        CompletableFuture<?>[] stalled = new CompletableFuture<?>[1];
        staleReadScenario(leader -> {
            stalled[0] = leader.stallForTesting(stallMillis);
            // Inputs queue behind the stall: a status request is answered only after it.
            CompletableFuture<RaftNode.Status> status = leader.status();
            assertThat(status).as("answered during the stall").isNotDone();
        }, leader -> {
            assertThat(stalled[0]).isNotDone();
            advanceTicks(stallMillis / TICK_MILLIS);
        });
        assertThat(stalled[0]).isDone();
    }
}
