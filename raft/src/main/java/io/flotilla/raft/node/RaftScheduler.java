package io.flotilla.raft.node;

import io.flotilla.raft.Ready;
import io.flotilla.raft.storage.RaftStorage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives any number of {@link RaftReplica}s from a fixed pool of worker threads, with ticks from
 * one timer (CockroachDB's raftScheduler): no thread per group. Each replica has an inbox; an input
 * queued for a replica that is not already waiting its turn puts it on the ready queue, and a
 * worker then runs one round for it: every queued input (up to {@value #MAX_INPUTS_PER_ROUND}),
 * each preceded by the ticks its clock says are due, then every Ready. A replica is in at most one
 * worker's hands at a time, so each one is single-threaded as the core requires.
 *
 * <p>Batching (etcd's raft node loop): while a worker waits for a force, new proposals and
 * acknowledgements pile up in the inbox and go into the next round together: one force and one
 * apply batch per round, however many clients write.
 *
 * <p>The timer only wakes replicas: their rounds feed the core the ticks their clock says are due.
 * A broken invariant or a storage failure while handling a replica stops that replica, never the
 * worker or the others.
 */
public final class RaftScheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RaftScheduler.class);

    /** Bounds one replica's share of a round so that a flood of inputs cannot postpone a force indefinitely. */
    static final int MAX_INPUTS_PER_ROUND = 4096;

    /** At most this many replicas share one round (and one force). */
    static final int MAX_REPLICAS_PER_ROUND = 256;

    /** An input that does nothing: the round it causes feeds the core its due ticks. */
    private static final Runnable WAKE = () -> { };

    private final LinkedBlockingQueue<Slot> ready = new LinkedBlockingQueue<>();
    /** Put on the ready queue once per worker by close(): that worker leaves. */
    private final Slot leave = new Slot(null);
    private final Set<Slot> slots = ConcurrentHashMap.newKeySet();
    private final Thread[] workers;
    private final ScheduledExecutorService timer;
    private volatile boolean closed;

    /**
     * @param name       names the threads ({@code raft-worker-NAME-i}, {@code raft-timer-NAME})
     * @param workers    worker threads (one is enough for a handful of groups on a small machine)
     * @param tickMillis how often the timer wakes every replica
     */
    private final java.util.concurrent.atomic.LongAdder busyNanos = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder rounds = new java.util.concurrent.atomic.LongAdder();

    public RaftScheduler(String name, int workers, long tickMillis) {
        this(workers, tickMillis, i -> workers == 1 ? "raft-worker-" + name : "raft-worker-" + name + "-" + i,
                "raft-timer-" + name);
    }

    RaftScheduler(int workers, long tickMillis, java.util.function.IntFunction<String> workerName, String timerName) {
        if (workers < 1 || tickMillis <= 0) {
            throw new IllegalArgumentException("workers and tickMillis must be positive: " + workers + ", " + tickMillis);
        }
        this.workers = new Thread[workers];
        for (int i = 0; i < workers; i++) {
            Thread t = new Thread(this::work, workerName.apply(i));
            t.setDaemon(true);
            this.workers[i] = t;
            t.start();
        }
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, timerName);
            t.setDaemon(true);
            return t;
        });
        // Fixed delay, not rate: after a stall there is nothing to make up (the clock tells how
        // many ticks are due).
        timer.scheduleWithFixedDelay(this::wakeAll, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts driving {@code replica}: inputs may be queued from now on, and the timer wakes it;
     * its ticks count once its clock is started ({@link RaftReplica#start}).
     */
    public Slot register(RaftReplica replica) {
        if (closed) {
            throw new IllegalStateException("scheduler closed");
        }
        Slot s = new Slot(replica);
        slots.add(s);
        return s;
    }

    /** A quiesced replica is not woken: its ticks would do nothing (any input wakes it). */
    private void wakeAll() {
        for (Slot s : slots) {
            if (!s.replica.isQuiesced()) {
                s.submit(WAKE, null);
            }
        }
    }

    private void work() {
        while (true) {
            Slot s;
            try {
                s = ready.take();
            } catch (InterruptedException e) {
                return;
            }
            if (s == leave) {
                return;
            }
            List<Slot> batch = new ArrayList<>();
            batch.add(s);
            // Whoever else is ready goes in the same round: their Readies share one force.
            for (Slot more; batch.size() < MAX_REPLICAS_PER_ROUND && (more = ready.poll()) != null; ) {
                if (more == leave) {
                    ready.add(leave); // for this worker's next turn, after this round
                    break;
                }
                batch.add(more);
            }
            long t0 = System.nanoTime();
            round(batch);
            busyNanos.add(System.nanoTime() - t0);
            rounds.increment();
        }
    }

    /** Nanoseconds the workers spent in rounds, all together (utilization: its rate / workers). */
    public long busyNanos() {
        return busyNanos.sum();
    }

    /** Rounds run, all workers together. */
    public long rounds() {
        return rounds.sum();
    }

    public int workerCount() {
        return workers.length;
    }

    /**
     * Stops the timer and the workers once their current round ends; replicas still registered
     * are not closed by this (close their slots first).
     */
    @Override
    public void close() {
        shutdown();
        for (Thread t : workers) {
            if (t == Thread.currentThread()) {
                continue;
            }
            try {
                t.join(RaftNode.CLOSE_WAIT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** As {@link #close()}, without waiting: each worker leaves once its current round returns. */
    public void shutdown() {
        if (closed) {
            return;
        }
        closed = true;
        timer.shutdown();
        for (int i = 0; i < workers.length; i++) {
            ready.add(leave);
        }
    }

    /**
     * On a worker, one round for a batch of replicas: each one's queued inputs, then their Readies
     * in lockstep — every Ready written unforced, ONE force per storage they share (a node's
     * replicas share its log), then each one sent, applied and advanced — until none has a Ready.
     * So a busy node forces once per round however many groups have work (fsync is the scarce
     * resource). A storage failure or a broken invariant stops the replicas it touched; the
     * worker and the other replicas go on.
     */
    private void round(List<Slot> batch) {
        List<Slot> live = new ArrayList<>(batch.size());
        for (Slot s : batch) {
            s.running.lock();
            // Cleared before polling: an input queued from now on schedules another round.
            s.scheduled.set(false);
            if (s.replica.isStopped()) {
                continue;
            }
            try {
                s.runInputs();
                s.replica.askPendingReads();
                live.add(s);
            } catch (Throwable e) {
                fail(s, e);
            }
        }
        try {
            while (!live.isEmpty()) {
                List<Slot> written = new ArrayList<>();
                List<Ready> readies = new ArrayList<>();
                for (Slot s : live) {
                    if (!s.replica.hasReady()) {
                        continue;
                    }
                    try {
                        readies.add(s.replica.writeReady());
                        written.add(s);
                    } catch (Throwable e) {
                        fail(s, e);
                    }
                }
                if (written.isEmpty()) {
                    break;
                }
                forceAll(written, readies);
                for (int i = 0; i < written.size(); i++) {
                    Slot s = written.get(i);
                    if (s.replica.isStopped()) {
                        continue;
                    }
                    try {
                        s.replica.finishReady(readies.get(i));
                    } catch (Throwable e) {
                        fail(s, e);
                    }
                }
                live.removeIf(s -> s.replica.isStopped());
            }
            for (Slot s : live) {
                s.replica.publish();
            }
        } finally {
            for (Slot s : batch) {
                s.running.unlock();
            }
        }
        for (Slot s : batch) {
            if (!s.inbox.isEmpty() && !s.replica.isStopped() && s.scheduled.compareAndSet(false, true)) {
                ready.add(s);
            }
        }
    }

    /**
     * Makes the written Readies durable: one force per distinct storage among those that need
     * one. A failed force fails every replica whose Ready it was to cover.
     */
    private void forceAll(List<Slot> written, List<Ready> readies) {
        Map<RaftStorage, Long> forced = new IdentityHashMap<>();
        for (int i = 0; i < written.size(); i++) {
            Slot s = written.get(i);
            Ready rd = readies.get(i);
            if (!rd.mustSync() || s.replica.isStopped()) {
                continue;
            }
            RaftStorage storage = s.replica.storage();
            Long took = forced.get(storage);
            if (took == null) {
                long t0 = System.nanoTime();
                try {
                    storage.sync();
                } catch (Throwable e) {
                    for (int j = i; j < written.size(); j++) {
                        if (written.get(j).replica.storage() == storage && readies.get(j).mustSync()) {
                            fail(written.get(j), e);
                        }
                    }
                    continue;
                }
                took = System.nanoTime() - t0;
                forced.put(storage, took);
            }
            s.replica.persisted(rd, took);
        }
    }

    private void fail(Slot s, Throwable e) {
        // A storage failure or a broken invariant: nothing more may be persisted or applied by
        // this process for this group (an fsync error is fatal for the log).
        log.error("node {} group {} stopping: {}", s.replica.id(), s.replica.groupId(), e.toString(), e);
        s.replica.stop(e);
        slots.remove(s);
    }

    /** One replica's place in the scheduler: its inbox and its turn. */
    public final class Slot {
        private final RaftReplica replica;
        private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean scheduled = new AtomicBoolean();
        /** Held by the worker running this replica's round; close() waits on it. */
        private final ReentrantLock running = new ReentrantLock();

        private Slot(RaftReplica replica) {
            this.replica = replica;
        }

        public RaftReplica replica() {
            return replica;
        }

        /**
         * Queues an input for the replica's thread; {@code owner}, if given, fails if the replica
         * can no longer run it or if it throws.
         */
        public void submit(Runnable input, CompletableFuture<?> owner) {
            if (replica.isStopped() || closed) {
                if (owner != null) {
                    owner.completeExceptionally(new IllegalStateException("raft node " + replica.id()
                            + (closed ? " is closed" : " is stopped")));
                }
                return;
            }
            inbox.add(owner == null ? input : () -> {
                try {
                    input.run();
                } catch (RuntimeException e) {
                    owner.completeExceptionally(e);
                    throw e;
                }
            });
            if (scheduled.compareAndSet(false, true)) {
                ready.add(this);
            }
        }

        private void runInputs() {
            Runnable input;
            int n = 0;
            // After close, no more input and no more Ready: close() is waiting for this round.
            while (!replica.isStopped() && n < MAX_INPUTS_PER_ROUND && (input = inbox.poll()) != null) {
                n++;
                replica.catchUpTicks(); // any input may have held the thread (a stall), and reads are judged in step()
                try {
                    input.run();
                } catch (RuntimeException e) {
                    // A bad input (say, a message for a node that is not a member) must not cost
                    // the rest of the round; the core state is unchanged by a rejected input.
                    log.warn("node {}: input rejected: {}", replica.id(), e.toString());
                }
            }
        }

        /**
         * Stops the replica and waits up to {@code wait} for the round in progress (a force, an
         * apply batch) to end, so that nothing is persisted or applied once this returns. Whether
         * that round finished (false when called from the round itself).
         */
        public boolean close(Duration wait) {
            replica.markStopped();
            slots.remove(this);
            if (running.isHeldByCurrentThread()) {
                return false; // called by the round itself (a state machine stopping its node): it ends after this
            }
            try {
                if (running.tryLock(wait.toNanos(), TimeUnit.NANOSECONDS)) {
                    running.unlock();
                    return true;
                }
                log.warn("node {}: closed, but its Raft round did not finish within {} ms (a force or apply"
                        + " still running); it persists and applies nothing more once that returns", replica.id(),
                        wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        }
    }
}
