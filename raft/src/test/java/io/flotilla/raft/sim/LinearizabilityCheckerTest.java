package io.flotilla.raft.sim;

import static io.flotilla.raft.sim.LinearizabilityChecker.Op.read;
import static io.flotilla.raft.sim.LinearizabilityChecker.Op.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinearizabilityCheckerTest {

    private static final long NEVER = Long.MAX_VALUE;

    private static boolean ok(LinearizabilityChecker.Op... ops) {
        return LinearizabilityChecker.check(List.of(ops)) == null;
    }

    @Test
    void sequentialHistoryIsLinearizable() {
        assertThat(ok(write(1, "x", 1, 0, 1), read(2, "x", 1, 2, 3), write(3, "x", 2, 4, 5), read(4, "x", 2, 6, 7)))
                .isTrue();
    }

    @Test
    void readOfInitialValueBeforeAnyWrite() {
        assertThat(ok(read(1, "x", 0, 0, 1), write(2, "x", 5, 2, 3))).isTrue();
    }

    @Test
    void concurrentOperationsMayTakeEffectInEitherOrder() {
        // The read overlaps the write: it may see the old or the new value.
        assertThat(ok(write(1, "x", 1, 0, 10), read(2, "x", 0, 1, 2))).isTrue();
        assertThat(ok(write(1, "x", 1, 0, 10), read(2, "x", 1, 1, 2))).isTrue();
        // Two overlapping writes, then reads agreeing on an order.
        assertThat(ok(write(1, "x", 1, 0, 10), write(2, "x", 2, 0, 10), read(3, "x", 1, 11, 12),
                read(4, "x", 1, 13, 14))).isTrue();
    }

    @Test
    void staleReadIsNotLinearizable() {
        // The write of 1 completed before the read started, yet the read saw the initial value.
        assertThat(ok(write(1, "x", 1, 0, 1), read(2, "x", 0, 2, 3))).isFalse();
        // Same with an overwrite: reading 1 after 2 was acknowledged.
        assertThat(ok(write(1, "x", 1, 0, 1), write(2, "x", 2, 2, 3), read(3, "x", 1, 4, 5))).isFalse();
    }

    @Test
    void lostWriteIsNotLinearizable() {
        // Acknowledged write of 2 vanishes: later reads see 1 again after having seen 2.
        assertThat(ok(write(1, "x", 1, 0, 1), write(2, "x", 2, 2, 3), read(3, "x", 2, 4, 5), read(4, "x", 1, 6, 7)))
                .isFalse();
    }

    @Test
    void readsMustAgreeOnOneOrderOfConcurrentWrites() {
        // Two reads after both writes completed can't see different values.
        assertThat(ok(write(1, "x", 1, 0, 10), write(2, "x", 2, 0, 10), read(3, "x", 1, 11, 12),
                read(4, "x", 2, 13, 14), read(5, "x", 1, 15, 16))).isFalse();
    }

    @Test
    void unknownWriteMayOrMayNotHaveHappened() {
        assertThat(ok(write(1, "x", 7, 0, NEVER), read(2, "x", 0, 5, 6))).isTrue();
        assertThat(ok(write(1, "x", 7, 0, NEVER), read(2, "x", 7, 5, 6))).isTrue();
        // ...but not before it was invoked,
        assertThat(ok(read(2, "x", 7, 0, 1), write(1, "x", 7, 2, NEVER))).isFalse();
        // ...and once seen it cannot un-happen.
        assertThat(ok(write(1, "x", 7, 0, NEVER), read(2, "x", 7, 5, 6), read(3, "x", 0, 7, 8))).isFalse();
    }

    @Test
    void keysAreCheckedIndependently() {
        assertThat(ok(write(1, "x", 1, 0, 1), write(2, "y", 2, 0, 1), read(3, "x", 1, 2, 3), read(4, "y", 2, 2, 3)))
                .isTrue();
        LinearizabilityChecker.Violation v = LinearizabilityChecker.check(List.of(
                write(1, "x", 1, 0, 1), write(2, "y", 2, 0, 1), read(3, "x", 1, 2, 3), read(4, "y", 0, 2, 3)));
        assertThat(v).isNotNull();
        assertThat(v.key()).isEqualTo("y");
    }

    @Test
    void largeConcurrentHistoryIsCheckedQuickly() {
        // 3 clients x 200 overlapping ops, correct by construction (each read sees the latest write).
        List<LinearizabilityChecker.Op> ops = new ArrayList<>();
        long value = 0;
        long t = 0;
        for (int i = 0; i < 200; i++) {
            long v = ++value;
            ops.add(write(3L * i, "x", v, t, t + 3));
            ops.add(read(3L * i + 1, "x", v, t + 1, t + 5));
            ops.add(write(3L * i + 2, "x", v + 1000, t + 2, NEVER)); // never acknowledged, never seen
            t += 4;
        }
        assertThat(LinearizabilityChecker.check(ops)).isNull();
    }
}
