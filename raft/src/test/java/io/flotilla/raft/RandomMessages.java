package io.flotilla.raft;

import io.flotilla.raft.quorum.Configuration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Random peer messages for robustness tests: every field may be anything (negative, zero, huge,
 * near the receiver's real term and log so that some get past validation), senders are members,
 * strangers, the receiver itself or no node at all.
 */
final class RandomMessages {

    private RandomMessages() {}

    static Message any(SplittableRandom r, long self, long term, long lastIndex) {
        long g = r.nextInt(20) == 0 ? 2 : 1;
        long from = pick(r, 1, 2, 3, 99, 0, self, -5);
        long to = r.nextInt(20) == 0 ? 3 : self;
        long t = r.nextInt(10) == 0 ? number(r) : Math.max(0, term - 1 + r.nextInt(4));
        return switch (r.nextInt(10)) {
            case 0 -> new Message.RequestVote(g, from, to, t, index(r, lastIndex), small(r, term), r.nextBoolean(),
                    r.nextBoolean());
            case 1 -> new Message.RequestVoteResponse(g, from, to, t, r.nextBoolean(), r.nextBoolean());
            case 2, 3 -> {
                long prev = index(r, lastIndex);
                yield new Message.AppendEntries(g, from, to, t, prev, small(r, term), entries(r, prev, term),
                        index(r, lastIndex));
            }
            case 4 -> new Message.AppendEntriesResponse(g, from, to, t, r.nextBoolean(), index(r, lastIndex),
                    index(r, lastIndex), small(r, term));
            case 5 -> new Message.Heartbeat(g, from, to, t, index(r, lastIndex), small(r, 3));
            case 6 -> new Message.HeartbeatResponse(g, from, to, t, small(r, 3));
            case 7 -> r.nextBoolean() ? new Message.ReadIndexRequest(g, from, to, t, number(r))
                    : new Message.ReadIndexResponse(g, from, to, t, small(r, 3), index(r, lastIndex));
            case 8 -> new Message.TimeoutNow(g, from, to, t);
            default -> new Message.InstallSnapshot(g, from, to, t, new Snapshot(1 + Math.max(0, lastIndex - 2 + r.nextInt(5)),
                    Math.max(1, term - r.nextInt(2)), new byte[r.nextInt(4)],
                    r.nextBoolean() ? Configuration.EMPTY : new Configuration(Set.of(1L, 2L, 3L))));
        };
    }

    private static long pick(SplittableRandom r, long... choices) {
        return choices[r.nextInt(choices.length)];
    }

    private static long number(SplittableRandom r) {
        return switch (r.nextInt(4)) {
            case 0 -> -1 - r.nextInt(1000);
            case 1 -> Long.MAX_VALUE - r.nextInt(3);
            case 2 -> Long.MIN_VALUE;
            default -> r.nextLong();
        };
    }

    private static long index(SplittableRandom r, long lastIndex) {
        return r.nextInt(8) == 0 ? number(r) : Math.max(0, lastIndex - 2 + r.nextInt(5));
    }

    private static long small(SplittableRandom r, long around) {
        return r.nextInt(8) == 0 ? number(r) : Math.max(0, around - 1 + r.nextInt(3));
    }

    /** Mostly right after prev; sometimes shifted, holed, of odd terms, or a garbled configuration. */
    private static List<Entry> entries(SplittableRandom r, long prev, long term) {
        int n = r.nextInt(4);
        List<Entry> out = new ArrayList<>();
        long base = prev < 0 || prev > (1L << 40) ? r.nextInt(5) : prev; // entries' indexes are positive
        long index = Math.max(1, base + 1 + (r.nextInt(4) == 0 ? r.nextInt(5) - 2 : 0));
        for (int i = 0; i < n; i++) {
            long t = Math.max(1, term - 1 + r.nextInt(4));
            if (r.nextInt(6) == 0) {
                byte[] garbage = new byte[r.nextInt(20)];
                r.nextBytes(garbage);
                out.add(new Entry(index, t, EntryType.CONF_CHANGE, garbage));
            } else {
                out.add(new Entry(index, t, EntryType.NORMAL, new byte[] {(byte) i}));
            }
            index += r.nextInt(6) == 0 ? 2 : 1;
        }
        return out;
    }
}
