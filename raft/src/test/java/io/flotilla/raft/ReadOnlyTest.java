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
        // A later context counts; with its sender, {1, 4} confirms follower 2's read (see below).
        assertThat(ro.ack(4, ro.roundContext() + 5, VOTERS)).extracting(c -> c.request().id()).containsExactly(11L);
        assertThat(ro.ack(5, ro.roundContext(), VOTERS)).containsExactly(new ReadOnly.Completed(new ReadOnly.Request(1, 12), 9));
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

    @Test
    void aFollowersRequestConfirmsTheLeaderForItsOwnReadsOnly() {
        ReadOnly ro = new ReadOnly();
        ro.add(new ReadOnly.Request(1, 20)); // the leader's own read
        ro.add(new ReadOnly.Request(2, 21)); // forwarded by follower 2
        assertThat(ro.maybeStartRound(5, 1)).isTrue();
        long ctx = ro.roundContext();
        assertThat(ro.maybeComplete(VOTERS)).isEmpty(); // {1} and {1, 2} are not 3 of 5
        // {1, 3} plus its sender is a quorum for follower 2's read, not for the leader's: follower 2
        // vouches only for a time after its own reads arrived.
        assertThat(ro.ack(3, ctx, VOTERS)).containsExactly(new ReadOnly.Completed(new ReadOnly.Request(2, 21), 5));
        assertThat(ro.roundContext()).isEqualTo(ctx);
        ro.add(new ReadOnly.Request(3, 22));
        assertThat(ro.maybeStartRound(6, 1)).isFalse(); // the round is still in flight
        assertThat(ro.ack(4, ctx, VOTERS)).containsExactly(new ReadOnly.Completed(new ReadOnly.Request(1, 20), 5));
        assertThat(ro.roundContext()).isZero();
        assertThat(ro.maybeStartRound(6, 1)).isTrue();
    }
}
