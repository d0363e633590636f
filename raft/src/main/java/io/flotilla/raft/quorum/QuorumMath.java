package io.flotilla.raft.quorum;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.function.LongUnaryOperator;

/**
 * Majority arithmetic over one voter set. Joint consensus (two voter sets, §4.3) will apply the
 * same functions to both halves and take the min (commit) / require both (votes).
 */
public final class QuorumMath {

    public enum VoteResult { PENDING, WON, LOST }

    private QuorumMath() {}

    public static int majority(int voters) {
        return voters / 2 + 1;
    }

    /**
     * The largest index replicated on a majority: sort the voters' match indexes descending and
     * take the majority-th. Voters without a match count as 0.
     */
    public static long committedIndex(Set<Long> voters, LongUnaryOperator matchIndexOf) {
        if (voters.isEmpty()) {
            return Long.MAX_VALUE; // an empty config never constrains (as in etcd's joint half)
        }
        long[] match = new long[voters.size()];
        int i = 0;
        for (long v : voters) {
            match[i++] = matchIndexOf.applyAsLong(v);
        }
        Arrays.sort(match);
        // ascending: the element at n - majority is the largest value held by at least `majority` voters
        return match[match.length - majority(match.length)];
    }

    /** Outcome of an election given the votes received so far (absent = not yet answered). */
    public static VoteResult voteResult(Set<Long> voters, Map<Long, Boolean> votes) {
        int granted = 0;
        int rejected = 0;
        for (long v : voters) {
            Boolean b = votes.get(v);
            if (b == null) {
                continue;
            }
            if (b) {
                granted++;
            } else {
                rejected++;
            }
        }
        int q = majority(voters.size());
        if (granted >= q) {
            return VoteResult.WON;
        }
        if (voters.size() - rejected < q) {
            return VoteResult.LOST;
        }
        return VoteResult.PENDING;
    }

    /** Whether the nodes in {@code active} form a majority of {@code voters}. */
    public static boolean isQuorum(Set<Long> voters, Set<Long> active) {
        int n = 0;
        for (long v : voters) {
            if (active.contains(v)) {
                n++;
            }
        }
        return n >= majority(voters.size());
    }
}
