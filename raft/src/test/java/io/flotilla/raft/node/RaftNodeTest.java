package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeError;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftError;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.storage.MemoryStorage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three real RaftNodes (threads, timers) over the in-process transport agree on a log. Real time
 * makes leadership changes possible on a loaded machine, so every request retries on a typed
 * error instead of assuming a stable leader.
 */
class RaftNodeTest {

    private final List<RaftNode> nodes = new ArrayList<>();

    @AfterEach
    void close() {
        nodes.forEach(RaftNode::close);
    }

    private static final class ListStateMachine implements StateMachine {
        final List<String> commands = new CopyOnWriteArrayList<>();
        /** The index of the last snapshot restored (0 if none); written on the node's loop. */
        volatile long restoredAt;

        @Override
        public void apply(Entry entry) {
            if (entry.type() == EntryType.NORMAL) {
                commands.add(new String(entry.data(), StandardCharsets.UTF_8));
            }
        }

        @Override
        public byte[] snapshot() {
            return String.join("\n", commands).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public void restore(long index, byte[] snapshot) {
            String all = new String(snapshot, StandardCharsets.UTF_8);
            commands.clear();
            if (!all.isEmpty()) {
                commands.addAll(List.of(all.split("\n")));
            }
            restoredAt = index;
        }
    }

    /** A node that was leader when observed (it may have lost leadership since: callers retry). */
    private RaftNode awaitLeader() {
        return await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5)).atMost(Duration.ofSeconds(20))
                .until(() -> nodes.stream().filter(RaftNode::isLeader).findFirst().orElse(null), Objects::nonNull);
    }

    /** Runs {@code request} on the current leader until it succeeds (typed errors are retryable). */
    private long onLeaderWithRetry(Function<RaftNode, CompletableFuture<Long>> request) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return request.apply(awaitLeader()).get(5, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(RaftException.class);
            } catch (TimeoutException e) {
                // a forwarded or in-flight request lost to a leadership change: retry
            }
            assertThat(System.nanoTime()).as("retry deadline").isLessThan(deadline);
        }
    }

    @Test
    void aLeaderCallsRecentlyActiveOnlyThePeersItStillHearsFrom() throws Exception {
        InProcessTransport transport = new InProcessTransport();
        for (long id = 1; id <= 3; id++) {
            RaftNode node = new RaftNode(RaftConfig.of(1, id, Set.of(1L, 2L, 3L), new SplittableRandom(id)),
                    new MemoryStorage(), transport, new ListStateMachine(), 10);
            transport.register(node);
            nodes.add(node);
        }
        nodes.forEach(RaftNode::start);
        onLeaderWithRetry(leader -> leader.propose("x".getBytes(StandardCharsets.UTF_8)));
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            RaftNode leader = awaitLeader();
            return leader.status().get(5, TimeUnit.SECONDS).recentlyActive().containsAll(Set.of(1L, 2L, 3L));
        });
        // A follower stops: the leader keeps its match index but, within about an election
        // timeout, no longer counts it as active (what a leadership transfer must not go to).
        RaftNode leader = awaitLeader();
        RaftNode gone = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        gone.close();
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            RaftNode.Status st = awaitLeader().status().get(5, TimeUnit.SECONDS);
            return st.role() == io.flotilla.raft.Role.LEADER && !st.recentlyActive().contains(gone.id())
                && st.matchIndex().getOrDefault(gone.id(), 0L) > 0;
        });
    }

    @Test
    void threeNodesAgree() throws Exception {
        InProcessTransport transport = new InProcessTransport();
        List<ListStateMachine> machines = new ArrayList<>();
        for (long id = 1; id <= 3; id++) {
            ListStateMachine sm = new ListStateMachine();
            machines.add(sm);
            RaftNode node = new RaftNode(RaftConfig.of(1, id, Set.of(1L, 2L, 3L), new SplittableRandom(id)),
                    new MemoryStorage(), transport, sm, 10);
            transport.register(node);
            nodes.add(node);
        }
        nodes.forEach(RaftNode::start);

        long lastIndex = 0;
        for (int i = 0; i < 20; i++) {
            byte[] command = ("cmd" + i).getBytes(StandardCharsets.UTF_8);
            lastIndex = onLeaderWithRetry(leader -> leader.propose(command));
        }
        // Every node applies the same sequence (a retried command may appear twice: at-least-once).
        await().atMost(Duration.ofSeconds(20)).until(() -> machines.stream().allMatch(
                m -> m.commands.contains("cmd19") && m.commands.size() == machines.get(0).commands.size()));
        for (ListStateMachine m : machines) {
            assertThat(m.commands).containsExactlyElementsOf(machines.get(0).commands);
            for (int i = 0; i < 20; i++) {
                assertThat(m.commands).contains("cmd" + i);
            }
        }

        // A linearizable read returns a read index covering every acknowledged write.
        long acknowledged = lastIndex;
        long readIndex = onLeaderWithRetry(leader -> nodes.stream().filter(n -> n != leader).findFirst()
                .orElseThrow().linearizableRead());
        assertThat(readIndex).isGreaterThanOrEqualTo(acknowledged);

        // A proposal on a non-leader fails with a typed error and a leader hint.
        RaftNode leader = awaitLeader();
        RaftNode follower = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        CompletableFuture<Long> refused = follower.propose(new byte[0]);
        await().atMost(Duration.ofSeconds(5)).until(refused::isDone);
        if (refused.isCompletedExceptionally()) {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, refused::get);
            assertThat(e.getCause()).isInstanceOf(RaftException.class);
            assertThat(((RaftException) e.getCause()).error()).isIn(RaftError.NOT_LEADER, RaftError.LEADERSHIP_LOST);
        }
        // (If leadership moved to that node meanwhile, the proposal legitimately succeeded.)
    }

    @Test
    void nodeThatJoinsLateIsCaughtUpByAChunkedSnapshot() throws Exception {
        // Two nodes run (a majority) and compact every 5 entries; the third starts empty after the
        // leader's log no longer holds index 1, so only InstallSnapshot can catch it up.
        InProcessTransport transport = new InProcessTransport(16); // tiny chunks: many per snapshot
        List<ListStateMachine> machines = new ArrayList<>();
        for (long id = 1; id <= 3; id++) {
            machines.add(new ListStateMachine());
        }
        for (long id = 1; id <= 2; id++) {
            RaftNode node = new RaftNode(RaftConfig.of(1, id, Set.of(1L, 2L, 3L), new SplittableRandom(id)),
                    new MemoryStorage(), transport, machines.get((int) id - 1), 10, 5);
            transport.register(node);
            nodes.add(node);
        }
        nodes.forEach(RaftNode::start);
        for (int i = 0; i < 20; i++) {
            byte[] command = ("cmd" + i).getBytes(StandardCharsets.UTF_8);
            onLeaderWithRetry(leader -> leader.propose(command));
        }
        ListStateMachine late = machines.get(2);
        RaftNode third = new RaftNode(RaftConfig.of(1, 3, Set.of(1L, 2L, 3L), new SplittableRandom(3)),
                new MemoryStorage(), transport, late, 10, 5);
        transport.register(third);
        nodes.add(third);
        third.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> late.commands.contains("cmd19"));
        assertThat(late.restoredAt).as("caught up by a snapshot").isPositive();
        for (int i = 0; i < 20; i++) {
            assertThat(late.commands).contains("cmd" + i);
        }
        // And it keeps replicating after the snapshot.
        onLeaderWithRetry(leader -> leader.propose("after".getBytes(StandardCharsets.UTF_8)));
        await().atMost(Duration.ofSeconds(20)).until(() -> late.commands.contains("after"));
        await().atMost(Duration.ofSeconds(20)).until(() -> machines.stream().allMatch(
                m -> m.commands.size() == machines.get(0).commands.size()));
        assertThat(late.commands).containsExactlyElementsOf(machines.get(0).commands);
    }

    @Test
    void aRequestedSnapshotIsTakenBeforeThePolicyWouldTakeOne() throws Exception {
        // A node's shared log asks a group whose old records pin a segment to compact now: the
        // policy (every 1,000 entries) alone would not take one after 5.
        MemoryStorage storage = new MemoryStorage();
        RaftNode node = new RaftNode(RaftConfig.of(1, 1, Set.of(1L), new SplittableRandom(1)), storage,
                new InProcessTransport(), new ListStateMachine(), 10, 1000);
        nodes.add(node);
        node.start();
        long last = 0;
        for (int i = 0; i < 5; i++) {
            byte[] command = ("cmd" + i).getBytes(StandardCharsets.UTF_8);
            last = onLeaderWithRetry(leader -> leader.propose(command));
        }
        assertThat(storage.snapshot().index()).as("no snapshot before the request").isZero();
        node.requestSnapshot();
        long applied = last;
        await().atMost(Duration.ofSeconds(10)).until(() -> storage.snapshot().index() >= applied);
        assertThat(storage.firstIndex()).as("log compacted below the snapshot").isGreaterThan(applied);
    }

    /** Runs a membership change on the current leader until it is final (retryable refusals retried). */
    private Configuration changeWithRetry(ConfChange change) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return awaitLeader().proposeConfChange(change).get(5, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof ConfChangeException c) {
                    assertThat(c.error().retryable()).as("refused: %s", c).isTrue();
                } else {
                    assertThat(e.getCause()).isInstanceOf(RaftException.class);
                }
            } catch (TimeoutException e) {
                // lost to a leadership change: retry (a duplicate is refused as ALREADY_*)
            }
            assertThat(System.nanoTime()).as("retry deadline").isLessThan(deadline);
            await().pollDelay(Duration.ofMillis(20)).until(() -> true); // back off before retrying
        }
    }

    @Test
    void aFreshNodeJoinsAsLearnerIsPromotedAndTheStatusShowsTheConfiguration() throws Exception {
        InProcessTransport transport = new InProcessTransport();
        List<ListStateMachine> machines = new ArrayList<>();
        for (long id = 1; id <= 3; id++) {
            ListStateMachine sm = new ListStateMachine();
            machines.add(sm);
            RaftNode node = new RaftNode(RaftConfig.of(1, id, Set.of(1L, 2L, 3L), new SplittableRandom(id)),
                    new MemoryStorage(), transport, sm, 10, 5);
            transport.register(node);
            nodes.add(node);
        }
        nodes.forEach(RaftNode::start);
        for (int i = 0; i < 12; i++) {
            byte[] command = ("cmd" + i).getBytes(StandardCharsets.UTF_8);
            onLeaderWithRetry(leader -> leader.propose(command));
        }
        // A joining node starts with an empty log and no configuration.
        ListStateMachine joinerMachine = new ListStateMachine();
        RaftNode joiner = new RaftNode(RaftConfig.joining(1, 4, new SplittableRandom(4)), new MemoryStorage(),
                transport, joinerMachine, 10, 5);
        transport.register(joiner);
        nodes.add(joiner);
        joiner.start();
        assertThat(joiner.status().get(5, TimeUnit.SECONDS).configuration().isEmpty()).isTrue();

        Configuration learner = changeWithRetry(ConfChange.of(ConfChange.addLearner(4)));
        assertThat(learner.learners()).containsExactly(4L);
        await().atMost(Duration.ofSeconds(20)).until(() -> joinerMachine.commands.contains("cmd11"));
        Configuration promoted = changeWithRetry(ConfChange.of(ConfChange.addVoter(4)));
        assertThat(promoted).isEqualTo(new Configuration(Set.of(1L, 2L, 3L, 4L)));
        await().atMost(Duration.ofSeconds(20))
                .until(() -> joiner.status().get(5, TimeUnit.SECONDS).configuration().equals(promoted));
        RaftNode.Status leaderStatus = awaitLeader().status().get(5, TimeUnit.SECONDS);
        assertThat(leaderStatus.configuration().isJoint()).isFalse();

        // A refused change fails with a typed error.
        CompletableFuture<Configuration> refused = awaitLeader().proposeConfChange(ConfChange.of(ConfChange.addVoter(9)));
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> refused.get(5, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOfAny(ConfChangeException.class, RaftException.class);
        if (e.getCause() instanceof ConfChangeException c) {
            assertThat(c.error()).isIn(ConfChangeError.UNKNOWN_NODE, ConfChangeError.NOT_LEADER);
        }
        onLeaderWithRetry(leader -> leader.propose("after".getBytes(StandardCharsets.UTF_8)));
        await().atMost(Duration.ofSeconds(20)).until(() -> joinerMachine.commands.contains("after"));
    }

    @Test
    void followerReadsShareReadIndexRoundsAndALostRequestIsAskedAgain() throws Exception {
        InProcessTransport inner = new InProcessTransport();
        java.util.concurrent.atomic.AtomicInteger readIndexRequests = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean dropNextReadIndex = new java.util.concurrent.atomic.AtomicBoolean();
        // While the test submits its reads, ReadIndex requests wait here instead of travelling: the
        // reads then arrive while a request is in flight, however slowly this thread runs (under
        // load it used to lose the race to fast round trips: 63-81 requests, a flaky count).
        java.util.concurrent.atomic.AtomicBoolean holdReadIndex = new java.util.concurrent.atomic.AtomicBoolean();
        List<io.flotilla.raft.Message> held = new CopyOnWriteArrayList<>();
        Transport counting = m -> {
            if (m instanceof io.flotilla.raft.Message.ReadIndexRequest) {
                readIndexRequests.incrementAndGet();
                if (dropNextReadIndex.compareAndSet(true, false)) {
                    return; // lost on the way
                }
                if (holdReadIndex.get()) {
                    held.add(m);
                    return;
                }
            }
            inner.send(m);
        };
        for (long id = 1; id <= 3; id++) {
            RaftNode node = new RaftNode(RaftConfig.of(1, id, Set.of(1L, 2L, 3L), new SplittableRandom(id)),
                    new MemoryStorage(), counting, new ListStateMachine(), 10);
            inner.register(node);
            nodes.add(node);
        }
        nodes.forEach(RaftNode::start);
        long acknowledged = onLeaderWithRetry(leader -> leader.propose("w".getBytes(StandardCharsets.UTF_8)));
        // 300 reads at once on a follower: they share a handful of ReadIndex round trips.
        long[] readIndexes = null;
        for (int attempt = 0; readIndexes == null; attempt++) {
            assertThat(attempt).as("attempts (leadership kept moving)").isLessThan(10);
            RaftNode leader = awaitLeader();
            RaftNode follower = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
            readIndexRequests.set(0);
            holdReadIndex.set(true);
            List<CompletableFuture<Long>> reads = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                reads.add(follower.linearizableRead());
            }
            holdReadIndex.set(false);
            held.forEach(inner::send);
            held.clear();
            try {
                CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
                readIndexes = reads.stream().mapToLong(CompletableFuture::join).toArray();
            } catch (ExecutionException | TimeoutException e) {
                // a leadership change failed the batch: try again
            }
        }
        assertThat(readIndexes).hasSize(300);
        assertThat(java.util.Arrays.stream(readIndexes).min().orElseThrow()).isGreaterThanOrEqualTo(acknowledged);
        assertThat(readIndexRequests.get()).as("ReadIndex requests for 300 reads").isBetween(1, 30);

        // A request lost on the way is asked again (after a timeout of ticks), not waited on forever.
        dropNextReadIndex.set(true);
        long again = onLeaderWithRetry(leader -> nodes.stream().filter(n -> n != leader).findFirst()
                .orElseThrow().linearizableRead());
        assertThat(again).isGreaterThanOrEqualTo(acknowledged);
        assertThat(dropNextReadIndex.get()).as("the first request was dropped").isFalse();
    }
}
