package io.flotilla.loadgen;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What the load generator sends: an operation mix, a key space and a key distribution. Pure and
 * seeded, so it is tested without a cluster.
 */
public final class OpMix {

  /** The operations a mix may name. */
  public enum Op { PUT, GET, CAS, INCR, DELETE }

  private final Op[] ops;
  private final int[] cumulativeWeights;
  private final int totalWeight;
  private final KeyChooser keys;

  public OpMix(Map<Op, Integer> mix, KeyChooser keys) {
    if (mix.isEmpty() || mix.values().stream().anyMatch(w -> w < 0)
        || mix.values().stream().mapToInt(Integer::intValue).sum() <= 0) {
      throw new IllegalArgumentException("the mix needs at least one operation with a positive weight: " + mix);
    }
    List<Op> names = new ArrayList<>();
    List<Integer> cumulative = new ArrayList<>();
    int sum = 0;
    for (Map.Entry<Op, Integer> e : mix.entrySet()) {
      if (e.getValue() > 0) {
        sum += e.getValue();
        names.add(e.getKey());
        cumulative.add(sum);
      }
    }
    this.ops = names.toArray(new Op[0]);
    this.cumulativeWeights = cumulative.stream().mapToInt(Integer::intValue).toArray();
    this.totalWeight = sum;
    this.keys = keys;
  }

  /** {@code put=90,get=10}: weights, not necessarily percentages. */
  public static Map<Op, Integer> parseMix(String spec) {
    Map<Op, Integer> mix = new LinkedHashMap<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("mix entry '" + p + "' is not OP=WEIGHT (ops: put, get, cas, incr, delete)");
      }
      Op op;
      try {
        op = Op.valueOf(p.substring(0, eq).trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown operation '" + p.substring(0, eq) + "' (ops: put, get, cas, incr, delete)");
      }
      int weight;
      try {
        weight = Integer.parseInt(p.substring(eq + 1).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("weight of " + op + " is not a number: '" + p.substring(eq + 1) + "'");
      }
      if (weight < 0 || mix.put(op, weight) != null) {
        throw new IllegalArgumentException("bad or repeated weight for " + op);
      }
    }
    return mix;
  }

  public Op nextOp(SplittableRandom rnd) {
    int x = rnd.nextInt(totalWeight);
    for (int i = 0; i < ops.length; i++) {
      if (x < cumulativeWeights[i]) {
        return ops[i];
      }
    }
    throw new AssertionError("weights");
  }

  public long nextKey(SplittableRandom rnd) {
    return keys.next(rnd);
  }

  /** Picks key numbers in [0, n). */
  public interface KeyChooser {
    long next(SplittableRandom rnd);

    static KeyChooser uniform(long n) {
      if (n <= 0) {
        throw new IllegalArgumentException("keys must be positive");
      }
      return rnd -> rnd.nextLong(n);
    }

    /**
     * Zipfian over [0, n) with exponent {@code theta} (0.99 as in YCSB): key 0 is the hottest.
     * Gray et al.'s "Quickly generating billion-record synthetic databases" method, constant
     * time per draw after an O(n) setup.
     */
    static KeyChooser zipf(long n, double theta) {
      if (n <= 0 || theta <= 0 || theta >= 1) {
        throw new IllegalArgumentException("zipf needs n > 0 and 0 < theta < 1");
      }
      double zetan = zeta(n, theta);
      double zeta2 = zeta(2, theta);
      double alpha = 1 / (1 - theta);
      double eta = (1 - Math.pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetan);
      return rnd -> {
        double u = rnd.nextDouble();
        double uz = u * zetan;
        if (uz < 1) {
          return 0;
        }
        if (uz < 1 + Math.pow(0.5, theta)) {
          return Math.min(1, n - 1);
        }
        return Math.min(n - 1, (long) (n * Math.pow(eta * u - eta + 1, alpha)));
      };
    }

    private static double zeta(long n, double theta) {
      double sum = 0;
      for (long i = 1; i <= n; i++) {
        sum += 1 / Math.pow(i, theta);
      }
      return sum;
    }
  }
}
