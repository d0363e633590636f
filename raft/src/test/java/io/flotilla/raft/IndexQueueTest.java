package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The leader's primitive queue of pending proposal indexes behaves like a deque of longs. */
class IndexQueueTest {

    @Test
    void matchesADequeThroughWrapAroundAndGrowth() {
        long seed = 20261123L;
        SplittableRandom rnd = new SplittableRandom(seed);
        IndexQueue q = new IndexQueue();
        ArrayDeque<Long> model = new ArrayDeque<>();
        long next = 1;
        for (int step = 0; step < 20_000; step++) {
            int op = rnd.nextInt(10);
            if (op < 6) {
                q.addLast(next);
                model.addLast(next);
                next += 1 + rnd.nextInt(3);
            } else if (op < 9 && !model.isEmpty()) {
                assertThat(q.first()).as("seed %d step %d", seed, step).isEqualTo(model.peekFirst());
                q.removeFirst();
                model.removeFirst();
            } else if (op == 9 && rnd.nextInt(50) == 0) {
                q.clear();
                model.clear();
            }
            assertThat(q.size()).isEqualTo(model.size());
            int i = 0;
            if (step % 97 == 0) {
                for (long v : model) {
                    assertThat(q.get(i++)).isEqualTo(v);
                }
            }
        }
    }
}
