package io.flotilla.raft.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.storage.ForwardingStorage;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many groups on one scheduler per node: three nodes, each with ONE worker thread and one timer,
 * host four Raft groups; every group elects, commits and agrees. A group whose storage fails stops
 * alone: the worker and the other groups on it go on.
 */
class RaftSchedulerTest {

    private static final int GROUPS = 4;
    private static final long SEED = 2026;

    private final List<RaftScheduler> schedulers = new ArrayList<>();
    /** nodes.get(g).get(n): group g + 1 on node n + 1. */
    private final List<List<RaftNode>> nodes = new ArrayList<>();

    @AfterEach
    void close() {
        nodes.forEach(g -> g.forEach(RaftNode::close));
        schedulers.forEach(RaftScheduler::close);
    }

    private static final class ListStateMachine implements StateMachine {
        final List<String> commands = new CopyOnWriteArrayList<>();

        @Override
        public void apply(Entry entry) {
            if (entry.type() == EntryType.NORMAL) {
                commands.add(new String(entry.data(), StandardCharsets.UTF_8));
            }
        }
    }

    /** MemoryStorage that fails every force once told to: a disk gone bad under one group. */
    private static final class FailingStorage extends ForwardingStorage {
        volatile boolean fail;

        FailingStorage() {
            super(new MemoryStorage());
        }

        @Override
        public void sync() {
            if (fail) {
                throw new IllegalStateException("injected fsync failure");
            }
            super.sync();
        }
    }

    private final List<List<ListStateMachine>> machines = new ArrayList<>();
    private final List<List<FailingStorage>> storages = new ArrayList<>();

    private void startCluster() {
        for (int n = 1; n <= 3; n++) {
            schedulers.add(new RaftScheduler("n" + n, 1, 10));
        }
        for (long g = 1; g <= GROUPS; g++) {
            InProcessTransport transport = new InProcessTransport();
            List<RaftNode> group = new ArrayList<>();
            List<ListStateMachine> sms = new ArrayList<>();
            List<FailingStorage> sts = new ArrayList<>();
            for (long id = 1; id <= 3; id++) {
                ListStateMachine sm = new ListStateMachine();
                FailingStorage st = new FailingStorage();
                RaftNode node = new RaftNode(schedulers.get((int) id - 1),
                        RaftConfig.of(g, id, Set.of(1L, 2L, 3L), new SplittableRandom(SEED * 31 + g * 7 + id)),
                        st, transport, sm, 10, RaftNode.SnapshotPolicy.NEVER);
                transport.register(node);
                group.add(node);
                sms.add(sm);
                sts.add(st);
            }
            nodes.add(group);
            machines.add(sms);
            storages.add(sts);
        }
        nodes.forEach(g -> g.forEach(RaftNode::start));
    }

    private static RaftNode awaitLeader(List<RaftNode> group) {
        return await().pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5)).atMost(Duration.ofSeconds(20))
                .until(() -> group.stream().filter(n -> n.isLeader() && !n.isStopped()).findFirst().orElse(null),
                        Objects::nonNull);
    }

    /** Proposes on the group's leader until it is applied there (typed errors and timeouts retry). */
    private static void write(List<RaftNode> group, String command) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                CompletableFuture<Long> f = awaitLeader(group).propose(command.getBytes(StandardCharsets.UTF_8));
                f.get(5, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(RaftException.class);
            } catch (TimeoutException e) {
                // lost to a leadership change: retry
            }
            assertThat(System.nanoTime()).as("seed %d: retry deadline", SEED).isLessThan(deadline);
        }
    }

    @Test
    void everyGroupOnOneWorkerPerNodeCommitsAndAgrees() throws Exception {
        startCluster();
        for (int i = 0; i < 10; i++) {
            for (int g = 0; g < GROUPS; g++) {
                write(nodes.get(g), "g" + (g + 1) + "-" + i);
            }
        }
        for (int g = 0; g < GROUPS; g++) {
            List<ListStateMachine> sms = machines.get(g);
            String last = "g" + (g + 1) + "-9";
            await().atMost(Duration.ofSeconds(20)).until(() -> sms.stream().allMatch(
                    m -> m.commands.contains(last) && m.commands.size() == sms.get(0).commands.size()));
            String prefix = "g" + (g + 1) + "-";
            for (ListStateMachine m : sms) {
                assertThat(m.commands).as("seed %d, group %d", SEED, g + 1).containsExactlyElementsOf(sms.get(0).commands)
                        .allMatch(c -> c.startsWith(prefix));
            }
        }
    }

    @Test
    void aGroupWhoseStorageFailsStopsAloneAndTheOthersOnItsWorkerGoOn() throws Exception {
        startCluster();
        for (int g = 0; g < GROUPS; g++) {
            write(nodes.get(g), "before");
        }
        // Group 1's replica on node 1 loses its disk.
        storages.get(0).get(0).fail = true;
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            if (!nodes.get(0).get(0).isStopped()) {
                write(nodes.get(0), "poke"); // any write or election makes it force
            }
            return nodes.get(0).get(0).isStopped();
        });
        // Node 1's worker still drives groups 2..4 (and group 1 goes on with nodes 2 and 3).
        for (int g = 0; g < GROUPS; g++) {
            write(nodes.get(g), "after");
        }
        for (int g = 1; g < GROUPS; g++) {
            ListStateMachine onNode1 = machines.get(g).get(0);
            await().atMost(Duration.ofSeconds(20)).until(() -> onNode1.commands.contains("after"));
            assertThat(nodes.get(g).get(0).isStopped()).isFalse();
        }
        assertThat(nodes.get(0).get(0).status()).as("a stopped replica refuses requests")
                .failsWithin(Duration.ofSeconds(5));
    }

    /**
     * A disk shared by several groups' storages, as a node's groups share one log: a force makes
     * every earlier write durable, so a force with nothing written since the last one costs nothing.
     */
    private static final class SharedDisk {
        private boolean dirty;
        private int forces;
        private int syncCalls;

        synchronized void written() {
            dirty = true;
        }

        synchronized void sync() {
            syncCalls++;
            if (dirty) {
                forces++;
                dirty = false;
            }
        }
    }

    private static final class OnSharedDisk extends ForwardingStorage {
        private final SharedDisk disk;

        OnSharedDisk(SharedDisk disk) {
            super(new MemoryStorage());
            this.disk = disk;
        }

        @Override
        public void append(List<Entry> entries) {
            if (!entries.isEmpty()) {
                disk.written();
            }
            super.append(entries);
        }

        @Override
        public void setHardState(io.flotilla.raft.HardState hardState) {
            disk.written();
            super.setHardState(hardState);
        }

        @Override
        public void sync() {
            disk.sync();
            super.sync();
        }
    }

    @Test
    void replicasReadyInTheSameRoundShareOneForce() throws Exception {
        RaftScheduler scheduler = new RaftScheduler("shared", 1, 10);
        schedulers.add(scheduler);
        SharedDisk disk = new SharedDisk();
        List<RaftNode> groups = new ArrayList<>();
        for (long g = 1; g <= GROUPS; g++) {
            // Single-voter groups: each commits alone, so every proposal needs forces of its own.
            RaftNode node = new RaftNode(scheduler, RaftConfig.of(g, 1, Set.of(1L), new SplittableRandom(SEED + g)),
                    new OnSharedDisk(disk), m -> { }, new ListStateMachine(), 10, RaftNode.SnapshotPolicy.NEVER);
            groups.add(node);
            node.start();
        }
        nodes.add(groups);
        for (RaftNode n : groups) {
            await().atMost(Duration.ofSeconds(20)).until(n::isLeader);
        }
        int before;
        synchronized (disk) {
            before = disk.forces;
        }
        // Hold the one worker while every group gets proposals: they are all ready together after.
        CompletableFuture<Void> stall = groups.get(0).stallForTesting(200);
        List<CompletableFuture<Long>> writes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            for (RaftNode n : groups) {
                writes.add(n.propose(("w" + i).getBytes(StandardCharsets.UTF_8)));
            }
        }
        stall.get(30, TimeUnit.SECONDS);
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        int forces;
        int syncs;
        synchronized (disk) {
            forces = disk.forces - before;
            syncs = disk.syncCalls;
        }
        // Each group needs at least two forces (its entries, then its commit index), so forced
        // one by one the four would take eight or more; in one round they take what one takes.
        assertThat(forces).as("seed %d: forces for %d groups' writes (%d sync calls)", SEED, GROUPS, syncs)
                .isLessThan(2 * GROUPS);
    }
}
