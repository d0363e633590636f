package io.flotilla.wal;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;

/** The {@code groups} mode of {@link WalCrashChild}: many groups of one shared log, killed at will. */
final class SharedWalCrashChild {
  private SharedWalCrashChild() {}

  /** The hard state a group saves in term {@code term}: its fields follow from the term. */
  static WalHardState hardState(long term) {
    return new WalHardState(term, term % 5, 0);
  }

  static WalOptions options(Path dir) {
    return WalOptions.shared(dir).withSegmentBytes(64 * 1024).withPreallocateBytes(16 * 1024)
        .withReclaim(4, 4096);
  }

  static void run(PrintStream out, Path dir, int threads, int groups, int size) throws Exception {
    Wal wal = Wal.open(options(dir));
    out.println("OPEN " + wal.groups().size());
    out.flush();
    long epoch = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      long first = 1 + (long) t * groups;
      long salt0 = epoch + t * 1_000_000_007L;
      Thread th = new Thread(() -> {
        try {
          loop(out, wal, first, groups, size, salt0);
        } catch (Exception e) {
          e.printStackTrace();
          System.exit(1);
        }
      });
      th.setDaemon(true);
      th.start();
    }
    new CountDownLatch(1).await();
  }

  private static void loop(PrintStream out, Wal wal, long first, int groups, int size, long salt0)
      throws Exception {
    SplittableRandom rnd = new SplittableRandom(salt0);
    long[] terms = new long[groups];
    for (int k = 0; k < groups; k++) {
      GroupLog log = wal.group(first + k);
      terms[k] = Math.max(1, Math.max(log.hardState().term(), log.term(log.lastIndex())));
    }
    long salt = salt0;
    while (true) {
      List<String> promises = new ArrayList<>();
      for (int k = 0; k < groups; k++) {
        GroupLog log = wal.group(first + k);
        int op = rnd.nextInt(100);
        if (op < 3 && log.lastIndex() > log.firstIndex()) {
          long at = log.firstIndex() + 1 + rnd.nextLong(log.lastIndex() - log.firstIndex());
          say(out, "T? " + log.groupId() + " " + at);
          log.truncateSuffix(at);
          continue;
        }
        if (op < 6 && log.lastIndex() >= log.firstIndex()) {
          long at = log.lastIndex() - rnd.nextInt(2);
          if (at >= log.firstIndex()) {
            say(out, "C? " + log.groupId() + " " + at);
            log.truncatePrefix(at, log.term(at));
          }
          continue;
        }
        WalHardState hs = null;
        if (op < 12) {
          terms[k]++;
          hs = hardState(terms[k]);
        }
        List<WalEntry> es = new ArrayList<>();
        for (int i = 0; i <= rnd.nextInt(3); i++) {
          long index = log.lastIndex() + 1 + i;
          salt++;
          es.add(new WalEntry(index, terms[k], WalTestSupport.payload(log.groupId() * 1_000_003L + index,
              salt, size)));
          promises.add("E " + log.groupId() + " " + index + " " + terms[k] + " " + salt);
        }
        if (op < 20) {
          log.appendDurably(es); // a group that waits, amid the others that do not
        } else {
          log.write(es, hs);
        }
        if (hs != null) {
          if (op < 20) {
            log.saveHardState(hs);
          }
          promises.add("H " + log.groupId() + " " + hs.term());
        }
      }
      wal.sync();
      synchronized (out) {
        for (String p : promises) {
          out.println(p);
        }
        out.flush();
      }
    }
  }

  private static void say(PrintStream out, String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }
}
