package io.flotilla.raft.confchange;

import static io.flotilla.raft.ConfChange.addLearner;
import static io.flotilla.raft.ConfChange.addVoter;
import static io.flotilla.raft.ConfChange.removeNode;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeError;
import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.quorum.Configuration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChangerTest {

    private static final Configuration ABC = new Configuration(Set.of(1L, 2L, 3L), Set.of(), Set.of(4L), Set.of());

    @Test
    void learnerOnlyChangesApplyDirectly() {
        Changer.Outcome o = Changer.apply(ABC, ConfChange.of(addLearner(5), removeNode(4)));
        assertThat(o.configuration()).isEqualTo(new Configuration(Set.of(1L, 2L, 3L), Set.of(), Set.of(5L), Set.of()));
    }

    @Test
    void voterChangesEnterAJointConfigurationAndLeaveIt() {
        Configuration joint = Changer.apply(ABC, ConfChange.of(addVoter(4), removeNode(3))).configuration();
        assertThat(joint).isEqualTo(new Configuration(Set.of(1L, 2L, 4L), Set.of(1L, 2L, 3L), Set.of(), Set.of()));
        assertThat(Changer.leaveJoint(joint)).isEqualTo(new Configuration(Set.of(1L, 2L, 4L)));
    }

    @Test
    void demotionKeepsTheVoterInTheOutgoingHalfUntilLeft() {
        Configuration joint = Changer.apply(ABC, ConfChange.of(addLearner(3))).configuration();
        assertThat(joint).isEqualTo(new Configuration(Set.of(1L, 2L), Set.of(1L, 2L, 3L), Set.of(4L), Set.of(3L)));
        assertThat(Changer.leaveJoint(joint))
                .isEqualTo(new Configuration(Set.of(1L, 2L), Set.of(), Set.of(3L, 4L), Set.of()));
    }

    @Test
    void refusesNonsense() {
        assertThat(Changer.apply(ABC, ConfChange.of()).error()).isEqualTo(ConfChangeError.EMPTY);
        assertThat(Changer.apply(ABC, ConfChange.of(addVoter(1))).error()).isEqualTo(ConfChangeError.ALREADY_VOTER);
        assertThat(Changer.apply(ABC, ConfChange.of(addVoter(7))).error()).isEqualTo(ConfChangeError.UNKNOWN_NODE);
        assertThat(Changer.apply(ABC, ConfChange.of(addLearner(4))).error()).isEqualTo(ConfChangeError.ALREADY_LEARNER);
        assertThat(Changer.apply(ABC, ConfChange.of(removeNode(7))).error()).isEqualTo(ConfChangeError.UNKNOWN_NODE);
        assertThat(Changer.apply(ABC, ConfChange.of(removeNode(1), removeNode(2), removeNode(3))).error())
                .isEqualTo(ConfChangeError.REMOVES_LAST_VOTER);
        assertThat(Changer.apply(ABC, ConfChange.of(addLearner(0))).error()).isEqualTo(ConfChangeError.INVALID_NODE);
        Configuration joint = Changer.apply(ABC, ConfChange.of(addVoter(4))).configuration();
        assertThat(Changer.apply(joint, ConfChange.of(addLearner(9))).error()).isEqualTo(ConfChangeError.CHANGE_PENDING);
    }

    @Test
    void theEntryPayloadRoundTrips() {
        Configuration joint = Changer.apply(ABC, ConfChange.of(addVoter(4), addLearner(3))).configuration();
        ConfEntry e = new ConfEntry(ConfChange.of(addVoter(4), addLearner(3)), false, joint);
        assertThat(ConfEntry.decode(e.encode())).isEqualTo(e);
        ConfEntry leave = new ConfEntry(ConfChange.of(), true, Changer.leaveJoint(joint));
        assertThat(ConfEntry.decode(leave.encode())).isEqualTo(leave);
    }
}
