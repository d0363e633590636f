package io.flotilla.raft.quorum;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class QuorumMathTest {

    @Test
    void majority() {
        assertThat(QuorumMath.majority(1)).isEqualTo(1);
        assertThat(QuorumMath.majority(3)).isEqualTo(2);
        assertThat(QuorumMath.majority(4)).isEqualTo(3);
        assertThat(QuorumMath.majority(5)).isEqualTo(3);
    }

    @Test
    void committedIndexIsTheMajorityThLargestMatch() {
        Map<Long, Long> match = Map.of(1L, 10L, 2L, 7L, 3L, 3L, 4L, 9L, 5L, 1L);
        assertThat(QuorumMath.committedIndex(Set.of(1L, 2L, 3L, 4L, 5L), match::get)).isEqualTo(7);
        assertThat(QuorumMath.committedIndex(Set.of(1L, 2L, 3L), match::get)).isEqualTo(7);
        assertThat(QuorumMath.committedIndex(Set.of(1L), match::get)).isEqualTo(10);
        assertThat(QuorumMath.committedIndex(Set.of(1L, 3L), match::get)).isEqualTo(3);
    }

    @Test
    void voteResult() {
        Set<Long> voters = Set.of(1L, 2L, 3L, 4L, 5L);
        assertThat(QuorumMath.voteResult(voters, Map.of(1L, true, 2L, true))).isEqualTo(QuorumMath.VoteResult.PENDING);
        assertThat(QuorumMath.voteResult(voters, Map.of(1L, true, 2L, true, 3L, true))).isEqualTo(QuorumMath.VoteResult.WON);
        assertThat(QuorumMath.voteResult(voters, Map.of(1L, true, 2L, false, 3L, false, 4L, false)))
                .isEqualTo(QuorumMath.VoteResult.LOST);
        assertThat(QuorumMath.voteResult(Set.of(1L), Map.of(1L, true))).isEqualTo(QuorumMath.VoteResult.WON);
        // Votes from non-voters do not count.
        assertThat(QuorumMath.voteResult(Set.of(1L, 2L, 3L), Map.of(1L, true, 9L, true))).isEqualTo(QuorumMath.VoteResult.PENDING);
    }

    @Test
    void isQuorum() {
        assertThat(QuorumMath.isQuorum(Set.of(1L, 2L, 3L), Set.of(1L, 3L))).isTrue();
        assertThat(QuorumMath.isQuorum(Set.of(1L, 2L, 3L), Set.of(1L, 7L))).isFalse();
    }
}
