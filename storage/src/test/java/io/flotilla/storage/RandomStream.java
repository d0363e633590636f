package io.flotilla.storage;

import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Txn;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded stream of committed entries exercising every operation, error path and session case:
 * the same seed always yields the same entries.
 */
final class RandomStream {

  private static final String[] VALUES = {"a", "b", "1", "2", "10", "-7", "x"};

  private RandomStream() {}

  static List<CommittedCommand> generate(long seed, int count) {
    SplittableRandom r = new SplittableRandom(seed);
    List<CommittedCommand> out = new ArrayList<>(count);
    long[] nextSeq = new long[6];  // clients 1..5
    long term = 1;
    for (long index = 1; index <= count; index++) {
      if (r.nextInt(200) == 0) {
        term++;
      }
      int kind = r.nextInt(100);
      byte[] data;
      if (kind < 4) {
        data = new byte[0];
      } else if (kind < 6) {
        data = new byte[1 + r.nextInt(8)];
        for (int i = 0; i < data.length; i++) {
          data[i] = (byte) r.nextInt(256);
        }
      } else {
        Command c = randomCommand(r);
        if (r.nextBoolean()) {
          int client = 1 + r.nextInt(5);
          long seq;
          int s = r.nextInt(20);
          if (s == 0) {
            seq = Math.max(1, nextSeq[client] - 1);   // duplicate of the last one
          } else if (s == 1) {
            seq = Math.max(1, nextSeq[client] - 3);   // stale
          } else if (s == 2) {
            seq = 1 + r.nextInt(3);                   // (re)register or unknown client
            nextSeq[client] = Math.max(nextSeq[client], seq + 1);
          } else {
            nextSeq[client] = Math.max(nextSeq[client] + 1, 2);
            seq = nextSeq[client] - 1;
          }
          c = Cmds.session(c, client, seq);
        }
        data = c.toByteArray();
      }
      out.add(new CommittedCommand(index, term, data));
    }
    return out;
  }

  private static String key(SplittableRandom r) {
    return r.nextInt(50) == 0 ? "" : "k" + r.nextInt(12);
  }

  private static String value(SplittableRandom r) {
    return VALUES[r.nextInt(VALUES.length)];
  }

  private static Command randomCommand(SplittableRandom r) {
    return switch (r.nextInt(6)) {
      case 0, 1 -> Cmds.put(key(r), value(r));
      case 2 -> Cmds.delete(key(r));
      case 3 -> switch (r.nextInt(3)) {
        case 0 -> Cmds.casValue(key(r), value(r), value(r));
        case 1 -> Cmds.casAbsent(key(r), value(r));
        default -> Cmds.casDelete(key(r), value(r));
      };
      case 4 -> Cmds.incr(key(r), r.nextInt(30) == 0 ? Long.MAX_VALUE : r.nextInt(-5, 6));
      default -> {
        Txn.Builder t = Cmds.txn();
        int compares = r.nextInt(3);
        for (int i = 0; i < compares; i++) {
          t.addCompares(switch (r.nextInt(3)) {
            case 0 -> Cmds.equals(key(r), value(r));
            case 1 -> Cmds.absent(key(r));
            default -> Cmds.present(key(r));
          });
        }
        int ops = 1 + r.nextInt(3);
        for (int i = 0; i < ops; i++) {
          t.addSuccess(r.nextBoolean() ? Cmds.opPut(key(r), value(r)) : Cmds.opDelete(key(r)));
          t.addFailure(r.nextBoolean() ? Cmds.opPut(key(r), value(r)) : Cmds.opDelete(key(r)));
        }
        yield Cmds.cmd(t);
      }
    };
  }

  /** Applies {@code entries} in batches of 1..maxBatch entries (sizes drawn from {@code seed}). */
  static List<io.flotilla.storage.proto.Result> applyInBatches(KvStateMachine sm, List<CommittedCommand> entries,
      long seed, int maxBatch) {
    SplittableRandom r = new SplittableRandom(seed);
    List<io.flotilla.storage.proto.Result> results = new ArrayList<>(entries.size());
    int i = 0;
    while (i < entries.size()) {
      int n = Math.min(entries.size() - i, 1 + r.nextInt(maxBatch));
      results.addAll(sm.apply(entries.subList(i, i + n)));
      i += n;
    }
    return results;
  }
}
