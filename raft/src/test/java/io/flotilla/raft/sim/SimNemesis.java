package io.flotilla.raft.sim;

import io.flotilla.raft.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.SplittableRandom;

/**
 * The fault injector: every few hundred simulated milliseconds it picks one fault — a partition
 * (majority/minority, one-way, bridge, isolated leader), a crash (of any node or of the leader),
 * a change of loss rate, a leadership transfer, or a full heal; with {@link SimOptions#stalls},
 * also a stalled Raft loop.
 */
final class SimNemesis {

    private final Simulation sim;
    private final SplittableRandom random;
    private long until;

    SimNemesis(Simulation sim, SplittableRandom random) {
        this.sim = sim;
        this.random = random;
    }

    void start(long faultMillis) {
        this.until = faultMillis;
        sim.schedule(50 + random.nextLong(300), this::act);
    }

    private void act() {
        if (!sim.faultsActive() || sim.now() >= until) {
            return;
        }
        List<SimNode> nodes = sim.nodes();
        int n = nodes.size();
        // Drawn only with stalls on: the other workloads' seeds replay as before.
        if (sim.options().stalls() && random.nextInt(100) < 20) {
            // Mostly the leader: its lease is what a stall endangers. Long enough, at times, for
            // the others to elect a new leader and commit before it resumes.
            SimNode victim = random.nextInt(3) < 2 ? currentLeader() : nodes.get(random.nextInt(n));
            long millis = 50 + random.nextLong(700);
            if (victim != null) {
                sim.stall(victim, millis);
                if (random.nextBoolean()) {
                    isolate(victim.id); // issue 14's sequence: the stalled leader is also cut off
                }
            }
            sim.schedule(50 + random.nextLong(500), this::act);
            return;
        }
        int choice = random.nextInt(100);
        if (choice < 20) {
            sim.blockedLinks.clear();
            sim.dropRate = sim.options().dropRate();
        } else if (choice < 35) {
            partition(randomSplit(n));
        } else if (choice < 45) {
            SimNode leader = currentLeader();
            if (leader != null) {
                isolate(leader.id);
            }
        } else if (choice < 53) {
            long a = 1 + random.nextInt(n);
            long b = 1 + random.nextInt(n);
            if (a != b) {
                sim.blockedLinks.add(a * 1000 + b); // one-way: a can no longer reach b
            }
        } else if (choice < 61) {
            bridge(n);
        } else if (choice < 78) {
            SimNode victim = nodes.get(random.nextInt(n));
            crashAndRestart(victim);
        } else if (choice < 86) {
            SimNode leader = currentLeader();
            if (leader != null) {
                crashAndRestart(leader);
            }
        } else if (choice < 91) {
            sim.dropRate = random.nextDouble() * 0.3;
        } else if (choice < 96) {
            SimNode leader = currentLeader();
            long target = 1 + random.nextInt(n);
            if (leader != null && target != leader.id && leader.core.configuration().isVoter(target)) {
                // An operator moving leadership under load (queued if the leader's loop is stalled).
                sim.input(leader, () -> leader.replica.transferLeadership(target, new CompletableFuture<>()));
            }
        }
        // else: a quiet spell
        sim.schedule(50 + random.nextLong(500), this::act);
    }

    private void crashAndRestart(SimNode victim) {
        if (victim.up()) {
            sim.crash(victim);
            sim.scheduleRestart(victim);
        }
    }

    private SimNode currentLeader() {
        SimNode best = null;
        for (SimNode node : sim.nodes()) {
            if (node.up() && node.core.role() == Role.LEADER && (best == null || node.core.term() > best.core.term())) {
                best = node;
            }
        }
        return best;
    }

    /** A random side assignment: true = side A. */
    private boolean[] randomSplit(int n) {
        boolean[] side = new boolean[n + 1];
        for (int i = 1; i <= n; i++) {
            side[i] = random.nextBoolean();
        }
        return side;
    }

    private void partition(boolean[] side) {
        sim.blockedLinks.clear();
        for (int a = 1; a < side.length; a++) {
            for (int b = 1; b < side.length; b++) {
                if (side[a] != side[b]) {
                    sim.blockedLinks.add(a * 1000L + b);
                }
            }
        }
    }

    private void isolate(long id) {
        sim.blockedLinks.clear();
        for (SimNode other : sim.nodes()) {
            if (other.id != id) {
                sim.blockedLinks.add(id * 1000 + other.id);
                sim.blockedLinks.add(other.id * 1000 + id);
            }
        }
    }

    /** Two halves that can talk only through one bridge node, which sees both. */
    private void bridge(int n) {
        long bridge = 1 + random.nextInt(n);
        List<Long> others = new ArrayList<>();
        for (long i = 1; i <= n; i++) {
            if (i != bridge) {
                others.add(i);
            }
        }
        boolean[] side = new boolean[n + 1];
        for (int i = 0; i < others.size(); i++) {
            side[(int) (long) others.get(i)] = i < others.size() / 2;
        }
        sim.blockedLinks.clear();
        for (long a : others) {
            for (long b : others) {
                if (side[(int) a] != side[(int) b]) {
                    sim.blockedLinks.add(a * 1000 + b);
                }
            }
        }
    }
}
