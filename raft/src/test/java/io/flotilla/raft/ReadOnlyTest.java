package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.quorum.Configuration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ReadOnlyTest {

    private static final Configuration VOTERS = new Configuration(Set.of(1L, 2L, 3L, 4L, 5L));

    @Test
    void oneRoundInFlightOthersBatchBehindIt() {
        ReadOnly ro = new ReadOnly();
        ro.add(new ReadOnly.Request(1, 10));
        assertThat(ro.maybeStartRound(7, 1)).isTrue();
        long ctx = ro.roundContext();
        ro.add(new ReadOnly.Request(2, 11));
        ro.add(new ReadOnly.Request(1, 12));
        assertThat(ro.maybeStartRound(8, 1)).isFalse(); // wait for the round in flight
        assertThat(ro.ack(2, ctx, VOTERS)).isEmpty();
        assertThat(ro.ack(2, ctx, VOTERS)).isEmpty(); // duplicates do not count twice
        assertThat(ro.ack(3, ctx - 1, VOTERS)).isEmpty(); // an older context does not confirm it
        assertThat(ro.ack(3, ctx, VOTERS)).containsExactly(new ReadOnly.Completed(new ReadOnly.Request(1, 10), 7));
        assertThat(ro.maybeStartRound(9, 1)).isTrue();
        assertThat(ro.roundContext()).isGreaterThan(ctx);
        assertThat(ro.ack(4, ro.roundContext() + 5, VOTERS)).isEmpty(); // a later context counts
        assertThat(ro.ack(5, ro.roundContext(), VOTERS)).extracting(ReadOnly.Completed::readIndex).containsExactly(9L, 9L);
        assertThat(ro.isEmpty()).isTrue();
    }

    @Test
    void singleVoterCompletesImmediatelyAndDrainReturnsEverything() {
        ReadOnly solo = new ReadOnly();
        solo.add(new ReadOnly.Request(1, 1));
        solo.maybeStartRound(3, 1);
        assertThat(solo.maybeComplete(new Configuration(Set.of(1L)))).hasSize(1);

        ReadOnly ro = new ReadOnly();
        ro.add(new ReadOnly.Request(1, 1));
        ro.maybeStartRound(3, 1);
        ro.add(new ReadOnly.Request(1, 2));
        assertThat(ro.drain()).extracting(ReadOnly.Request::id).containsExactly(1L, 2L);
        assertThat(ro.isEmpty()).isTrue();
        assertThat(ro.roundContext()).isZero();
    }
}
