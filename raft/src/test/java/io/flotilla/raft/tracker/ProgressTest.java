package io.flotilla.raft.tracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProgressTest {

    @Test
    void probeSendsOneMessageAtATime() {
        Progress p = new Progress(5, 4);
        assertThat(p.isPaused()).isFalse();
        p.sentEntries(7, true);
        assertThat(p.isPaused()).isTrue();
        assertThat(p.nextIndex()).isEqualTo(5); // probe does not advance optimistically
        p.heartbeatAcked();
        assertThat(p.isPaused()).isFalse();
    }

    @Test
    void successMovesToReplicateAndPipelines() {
        Progress p = new Progress(5, 2);
        assertThat(p.maybeUpdate(4)).isTrue();
        p.becomeReplicate();
        assertThat(p.nextIndex()).isEqualTo(5);
        p.sentEntries(6, true);
        p.sentEntries(8, true);
        assertThat(p.nextIndex()).isEqualTo(9);
        assertThat(p.isPaused()).isTrue(); // window of 2 is full
        p.inflights().freeLE(6);
        assertThat(p.isPaused()).isFalse();
        assertThat(p.maybeUpdate(3)).isFalse(); // stale ack
    }

    @Test
    void rejectionInReplicateFallsBackToMatchPlusOne() {
        Progress p = new Progress(1, 4);
        p.maybeUpdate(10);
        p.becomeReplicate();
        p.sentEntries(20, true);
        assertThat(p.maybeDecrTo(9, 9)).isFalse(); // stale: 9 <= match
        assertThat(p.maybeDecrTo(15, 12)).isTrue();
        assertThat(p.nextIndex()).isEqualTo(11);
    }

    @Test
    void rejectionInProbeUsesTheHintButNeverGoesBelowMatch() {
        Progress p = new Progress(101, 4);
        p.sentEntries(100, false);
        assertThat(p.maybeDecrTo(99, 0)).isFalse(); // not the outstanding probe (prev 100)
        assertThat(p.maybeDecrTo(100, 40)).isTrue();
        assertThat(p.nextIndex()).isEqualTo(41);
        assertThat(p.isPaused()).isFalse();
        Progress q = new Progress(101, 4);
        q.maybeUpdate(50);
        q.becomeProbe();
        q.maybeUpdate(50);
        Progress r = new Progress(101, 4);
        r.maybeUpdate(60);
        // next is max(hint + 1, match + 1)
        assertThat(r.maybeDecrTo(100, 10)).isTrue();
        assertThat(r.nextIndex()).isEqualTo(61);
    }

    @Test
    void inflightsRingBuffer() {
        Inflights in = new Inflights(3);
        in.add(1);
        in.add(2);
        in.add(5);
        assertThat(in.full()).isTrue();
        assertThatThrownBy(() -> in.add(6)).isInstanceOf(IllegalStateException.class);
        in.freeLE(2);
        assertThat(in.count()).isEqualTo(1);
        in.add(7);
        in.add(9);
        in.freeFirstOne();
        assertThat(in.count()).isEqualTo(2);
        in.freeLE(100);
        assertThat(in.count()).isZero();
        assertThatThrownBy(() -> {
            in.add(4);
            in.add(3);
        }).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void snapshotStatePausesUntilAnsweredAndTimesOut() {
        Progress p = new Progress(5, 4);
        p.becomeSnapshot(50);
        assertThat(p.isPaused()).isTrue();
        p.heartbeatAcked();
        assertThat(p.isPaused()).as("heartbeats do not unpause a snapshot").isTrue();
        assertThat(p.maybeDecrTo(4, 0)).as("rejections of older appends are ignored").isFalse();
        assertThat(p.snapshotTimedOut()).isFalse(); // the election timeout it was sent in
        assertThat(p.snapshotTimedOut()).isTrue(); // a whole timeout without an answer
        p.becomeProbe();
        assertThat(p.snapshotTimedOut()).isFalse();
        p.becomeSnapshot(50);
        assertThat(p.maybeUpdate(50)).isTrue();
        p.becomeReplicate();
        assertThat(p.nextIndex()).isEqualTo(51);
        assertThat(p.isPaused()).isFalse();
    }
}
