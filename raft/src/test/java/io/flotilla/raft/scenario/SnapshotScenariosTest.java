package io.flotilla.raft.scenario;

import static io.flotilla.raft.scenario.Scenarios.assertAppliedPrefixesAgree;
import static io.flotilla.raft.scenario.Scenarios.awaitApplied;
import static io.flotilla.raft.scenario.Scenarios.electLeader;
import static io.flotilla.raft.scenario.Scenarios.proposeOnLeader;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Message;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.sim.Network;
import io.flotilla.raft.tracker.Progress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Log compaction and InstallSnapshot (§7, Figure 13): a follower behind the compaction point is
 * caught up with the leader's snapshot, installs it atomically and continues from there.
 */
class SnapshotScenariosTest {

    private static List<String> commands(String prefix, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(prefix + i);
        }
        return out;
    }

    private static void compactAll(Network net) {
        for (Network.Peer p : net.peers()) {
            if (!net.isDown(p.id)) {
                net.compact(p.id);
            }
        }
    }

    @Test
    void laggingFollowerIsCaughtUpBySnapshot() {
        Network net = new Network(3, 71);
        long leader = electLeader(net);
        long lagging = leader == 3 ? 2 : 3;
        net.isolate(lagging);
        for (String c : commands("x", 30)) {
            proposeOnLeader(net, c);
        }
        awaitApplied(net, "x29", leader);
        compactAll(net);
        long snapshotIndex = net.peer(leader).storage.snapshot().index();
        assertThat(net.core(leader).log().firstIndex()).isEqualTo(snapshotIndex + 1);
        assertThat(snapshotIndex).isGreaterThan(net.core(lagging).log().lastIndex());

        net.recover();
        proposeOnLeader(net, "after");
        awaitApplied(net, "after");
        Network.Peer p = net.peer(lagging);
        assertThat(p.snapshotsInstalled).as("installed the leader's snapshot").isNotEmpty();
        assertThat(p.snapshotsInstalled.get(0).index()).isEqualTo(snapshotIndex);
        assertThat(p.storage.firstIndex()).isEqualTo(snapshotIndex + 1);
        assertThat(p.appliedCommands()).containsSubsequence("x0", "x29", "after");
        assertThat(net.core(lagging).lastApplied()).isEqualTo(net.core(leader).lastApplied());
        assertThat(net.core(leader).progress(lagging).state()).isEqualTo(Progress.State.REPLICATE);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void restartedNodeIsCaughtUpBySnapshotAndRestoresItsOwn() {
        Network net = new Network(3, 72);
        long leader = electLeader(net);
        long down = leader == 1 ? 2 : 1;
        proposeOnLeader(net, "early");
        awaitApplied(net, "early");
        net.compact(down); // its own snapshot, restored on restart
        net.crash(down);
        for (String c : commands("y", 25)) {
            proposeOnLeader(net, c);
        }
        awaitApplied(net, "y24", leader);
        compactAll(net);
        net.restart(down);
        // Restored from its own snapshot before the leader's arrived.
        assertThat(net.peer(down).appliedCommands()).startsWith("early");
        proposeOnLeader(net, "later");
        awaitApplied(net, "later");
        assertThat(net.peer(down).snapshotsInstalled).isNotEmpty();
        assertThat(net.peer(down).appliedCommands()).containsSubsequence("early", "y0", "y24", "later");
        // And once more: a crash after the install restarts from the installed snapshot.
        net.crash(down);
        net.restart(down);
        assertThat(net.peer(down).appliedCommands()).containsSubsequence("early", "y24");
        assertThat(net.core(down).log().firstIndex()).isGreaterThan(1);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void followerWithConflictingSuffixDiscardsItForTheSnapshot() {
        Network net = new Network(3, 73);
        long old = electLeader(net);
        proposeOnLeader(net, "base");
        awaitApplied(net, "base");
        // The old leader, cut off, appends entries nobody else will ever have.
        net.isolate(old);
        for (int i = 0; i < 5; i++) {
            net.propose(old, "lost" + i);
        }
        long conflictFrom = net.core(old).log().lastIndex() - 4;
        net.tickAll(30); // the others elect a new leader; the old one steps down (check-quorum)
        long leader = net.leader();
        assertThat(leader).isNotEqualTo(old).isNotZero();
        for (String c : commands("z", 20)) {
            proposeOnLeader(net, c);
        }
        awaitApplied(net, "z19", leader);
        compactAll(net);
        assertThat(net.peer(leader).storage.snapshot().index()).isGreaterThan(conflictFrom);

        net.recover();
        proposeOnLeader(net, "healed");
        awaitApplied(net, "healed");
        Network.Peer p = net.peer(old);
        assertThat(p.snapshotsInstalled).isNotEmpty();
        assertThat(p.appliedCommands()).doesNotContain("lost0", "lost4").containsSubsequence("base", "z19", "healed");
        assertThat(net.core(old).role()).isEqualTo(Role.FOLLOWER);
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void staleSnapshotIsIgnoredAndAcknowledgedWithTheCommitIndex() {
        Network net = new Network(3, 74);
        long leader = electLeader(net);
        long follower = leader == 1 ? 2 : 1;
        for (String c : commands("s", 10)) {
            proposeOnLeader(net, c);
        }
        awaitApplied(net, "s9");
        long commit = net.core(follower).commitIndex();
        long lastIndex = net.core(follower).log().lastIndex();
        long term = net.core(leader).term();
        net.startTrace();
        net.send(new Message.InstallSnapshot(1, leader, follower, term, new Snapshot(3, term, new byte[0])));
        List<Message> trace = net.stopTrace();
        assertThat(net.peer(follower).snapshotsInstalled).isEmpty();
        assertThat(net.core(follower).log().lastIndex()).isEqualTo(lastIndex);
        assertThat(net.core(follower).log().firstIndex()).isEqualTo(1);
        assertThat(trace).anySatisfy(m -> assertThat(m).isEqualTo(
                new Message.AppendEntriesResponse(1, follower, leader, term, true, commit, 0, 0)));
        proposeOnLeader(net, "still-fine");
        awaitApplied(net, "still-fine");
        assertAppliedPrefixesAgree(net);
    }

    @Test
    void lostSnapshotIsResentAfterATimeout() {
        Network net = new Network(3, 75);
        long leader = electLeader(net);
        long lagging = leader == 3 ? 2 : 3;
        net.isolate(lagging);
        for (String c : commands("w", 15)) {
            proposeOnLeader(net, c);
        }
        awaitApplied(net, "w14", leader);
        compactAll(net);
        net.recover();
        net.filter(m -> !(m instanceof Message.InstallSnapshot)); // every snapshot is lost
        net.tickAll(5);
        assertThat(net.core(leader).progress(lagging).state()).isEqualTo(Progress.State.SNAPSHOT);
        net.recover();
        awaitApplied(net, "w14");
        assertThat(net.peer(lagging).snapshotsInstalled).isNotEmpty();
        assertAppliedPrefixesAgree(net);
    }
}
