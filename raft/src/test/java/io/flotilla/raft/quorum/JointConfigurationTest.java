package io.flotilla.raft.quorum;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Joint quorum arithmetic (§4.3): both halves must agree; learners never count. */
class JointConfigurationTest {

    private static final Configuration JOINT =
            new Configuration(Set.of(1L, 2L, 4L), Set.of(1L, 2L, 3L), Set.of(5L), Set.of());

    @Test
    void committedIndexIsTheMinOfBothMajorities() {
        Map<Long, Long> match = Map.of(1L, 10L, 2L, 3L, 3L, 9L, 4L, 2L, 5L, 100L);
        // incoming {1,2,4}: 10,3,2 -> 3; outgoing {1,2,3}: 10,3,9 -> 9
        assertThat(JOINT.committedIndex(match::get)).isEqualTo(3);
        assertThat(new Configuration(Set.of(1L, 2L, 3L)).committedIndex(match::get)).isEqualTo(9);
        assertThat(Configuration.EMPTY.committedIndex(match::get)).isZero();
    }

    @Test
    void anElectionNeedsBothHalves() {
        // 1 and 4 are a majority of the incoming half only.
        assertThat(JOINT.voteResult(Map.of(1L, true, 4L, true))).isEqualTo(QuorumMath.VoteResult.PENDING);
        assertThat(JOINT.voteResult(Map.of(1L, true, 4L, true, 3L, true))).isEqualTo(QuorumMath.VoteResult.WON);
        assertThat(JOINT.voteResult(Map.of(1L, true, 2L, false, 3L, false))).isEqualTo(QuorumMath.VoteResult.LOST);
        // A learner's vote never helps.
        assertThat(JOINT.voteResult(Map.of(1L, true, 5L, true, 3L, true))).isEqualTo(QuorumMath.VoteResult.PENDING);
        assertThat(Configuration.EMPTY.voteResult(Map.of(1L, true))).isEqualTo(QuorumMath.VoteResult.LOST);
    }

    @Test
    void checkQuorumNeedsBothHalves() {
        assertThat(JOINT.isQuorum(Set.of(1L, 2L))).isTrue();
        assertThat(JOINT.isQuorum(Set.of(1L, 4L, 5L))).isFalse();
        assertThat(JOINT.isQuorum(Set.of(2L, 3L, 4L))).isTrue();
        assertThat(Configuration.EMPTY.isQuorum(Set.of(1L))).isFalse();
    }

    @Test
    void membershipQueries() {
        assertThat(JOINT.isJoint()).isTrue();
        assertThat(JOINT.isVoter(3)).isTrue();
        assertThat(JOINT.isVoter(5)).isFalse();
        assertThat(JOINT.isLearner(5)).isTrue();
        assertThat(JOINT.members()).containsExactly(1L, 2L, 3L, 4L, 5L);
    }
}
