package io.flotilla.raft.sim;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Role;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.tracker.Progress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.SplittableRandom;

/**
 * The operator: every few hundred simulated milliseconds, during the fault phase and under client
 * load, it asks the current leader for one membership change — add a fresh empty node as learner,
 * promote a caught-up learner, remove a follower, remove the leader itself, or replace a voter
 * (promote a learner and remove a voter in one joint change). The voter count stays within
 * [{@value #MIN_VOTERS}, {@value #MAX_VOTERS}] so that the nemesis's single crashes leave a quorum
 * as often as without membership changes. Refusals (a change still pending, no leader) are simply
 * skipped: the operator tries again later.
 */
final class SimMembership {

    static final int MIN_VOTERS = 3;
    static final int MAX_VOTERS = 5;
    /** Fresh nodes a run may add: bounds the cluster's growth. */
    private static final int MAX_FRESH = 3;

    private final Simulation sim;
    private final SplittableRandom random;
    private long until;
    private int fresh;

    SimMembership(Simulation sim, SplittableRandom random) {
        this.sim = sim;
        this.random = random;
    }

    void start(long faultMillis) {
        this.until = faultMillis;
        sim.schedule(100 + random.nextLong(300), this::act);
    }

    private void act() {
        if (!sim.faultsActive() || sim.now() >= until) {
            return;
        }
        SimNode leader = currentLeader();
        if (leader != null && !leader.core.configuration().isJoint() && !leader.core.confChangePending()) {
            ConfChange change = pick(leader);
            if (change != null) {
                sim.input(leader, () -> { // queued if the leader's loop is stalled
                    CompletableFuture<Configuration> done = new CompletableFuture<>();
                    leader.replica.proposeConfChange(change, done);
                    if (!done.isCompletedExceptionally()) { // refused at once otherwise
                        sim.confChangeAccepted();
                    }
                });
            }
        }
        sim.schedule(150 + random.nextLong(400), this::act);
    }

    private ConfChange pick(SimNode leader) {
        Configuration c = leader.core.configuration();
        List<Long> voters = new ArrayList<>(c.voters());
        voters.sort(Long::compare);
        List<Long> followers = new ArrayList<>(voters);
        followers.remove(leader.id);
        List<Long> learners = new ArrayList<>(c.learners());
        learners.sort(Long::compare);
        int choice = random.nextInt(100);
        if (choice < 30) {
            if (learners.isEmpty() && fresh < MAX_FRESH) {
                fresh++;
                SimNode n = sim.addFreshNode();
                return ConfChange.of(ConfChange.addLearner(n.id));
            }
        } else if (choice < 55) {
            Long learner = caughtUpLearner(leader, learners);
            if (learner != null) {
                if (voters.size() < MAX_VOTERS && random.nextBoolean()) {
                    return ConfChange.of(ConfChange.addVoter(learner));
                }
                // Replace a voter (maybe the leader) by the learner: one joint change.
                long out = voters.get(random.nextInt(voters.size()));
                return ConfChange.of(ConfChange.addVoter(learner), ConfChange.removeNode(out));
            }
        } else if (choice < 75) {
            if (voters.size() > MIN_VOTERS && !followers.isEmpty()) {
                return ConfChange.of(ConfChange.removeNode(followers.get(random.nextInt(followers.size()))));
            }
        } else if (choice < 85) {
            if (voters.size() > MIN_VOTERS) {
                return ConfChange.of(ConfChange.removeNode(leader.id));
            }
        } else if (choice < 90) {
            if (!learners.isEmpty()) {
                return ConfChange.of(ConfChange.removeNode(learners.get(0)));
            }
        }
        return null;
    }

    /** A learner the leader knows to be close to its log (§4.2.1: promote only caught-up nodes). */
    private static Long caughtUpLearner(SimNode leader, List<Long> learners) {
        for (long l : learners) {
            Progress pr = leader.core.progress(l);
            if (pr != null && leader.core.log().lastIndex() - pr.matchIndex() <= 10) {
                return l;
            }
        }
        return null;
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
}
