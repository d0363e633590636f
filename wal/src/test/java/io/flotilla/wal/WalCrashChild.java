package io.flotilla.wal;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * A child JVM for the crash tests. The parent kills it with SIGKILL at a moment of its choosing;
 * every line printed is a promise the reopened log must keep.
 *
 * <ul>
 *   <li>{@code append DIR THREADS SIZE}: THREADS threads append forever; on each durable append
 *       prints {@code index thread seq}.
 *   <li>{@code durable DIR SIZE}: one thread appends batches of 1-3 entries at indexes it chooses,
 *       as Raft does: three in four with {@link Wal#appendDurably} (written on that thread), the
 *       fourth with {@link Wal#append(java.util.List)} and a join (written by the writer thread);
 *       prints {@code index thread seq} for each entry once the call returns.
 *   <li>{@code hardstate DIR}: saves WalHardState(k, k % 5, 2k) for k = start.. and prints k after
 *       each save returns.
 *   <li>{@code lock DIR}: opens the log, prints LOCKED, waits for stdin to close.
 *   <li>{@code groups DIR THREADS GROUPS SIZE}: a shared log; each of THREADS threads owns GROUPS
 *       groups and, round after round, writes entries (and now and then a hard state of a new
 *       term) of each of them unforced, then syncs once and prints what that sync made durable:
 *       {@code E group index term salt} per entry, {@code H group term} per hard state. Now and
 *       then it truncates or compacts a group, printing {@code T? group index} or
 *       {@code C? group index} before it does (the change may or may not survive a kill before
 *       the call returns).
 * </ul>
 */
public final class WalCrashChild {
  private WalCrashChild() {}

  @SuppressWarnings("try") // the lock mode holds the log open without using it
  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    Path dir = Path.of(args[1]);
    switch (args[0]) {
      case "append" -> append(out, dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
      case "durable" -> durable(out, dir, Integer.parseInt(args[2]));
      case "hardstate" -> hardState(out, dir);
      case "groups" -> SharedWalCrashChild.run(out, dir, Integer.parseInt(args[2]),
          Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "lock" -> {
        try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
          out.println("LOCKED");
          out.flush();
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  private static void append(PrintStream out, Path dir, int threads, int size) throws Exception {
    Wal wal = Wal.open(WalTestSupport.small(dir).withSegmentBytes(64 * 1024)
        .withPreallocateBytes(16 * 1024));
    out.println("OPEN " + wal.lastIndex());
    out.flush();
    long epoch = System.nanoTime();
    CountDownLatch never = new CountDownLatch(1);
    for (int t = 0; t < threads; t++) {
      long thread = epoch + t;
      Thread th = new Thread(() -> {
        for (long seq = 0; ; seq++) {
          long index = wal.append(1, WalTestSupport.payload(thread, seq, size)).join();
          synchronized (out) {
            out.println(index + " " + thread + " " + seq);
            out.flush();
          }
        }
      });
      th.setDaemon(true);
      th.start();
    }
    never.await();
  }

  private static void durable(PrintStream out, Path dir, int size) throws Exception {
    Wal wal = Wal.open(WalTestSupport.small(dir).withSegmentBytes(64 * 1024)
        .withPreallocateBytes(16 * 1024));
    out.println("OPEN " + wal.lastIndex());
    out.flush();
    long thread = System.nanoTime();
    long seq = 0;
    for (long batch = 0; ; batch++) {
      long next = wal.lastIndex() + 1;
      java.util.List<WalEntry> entries = new java.util.ArrayList<>();
      for (int i = 0; i < 1 + (int) (batch % 3); i++) {
        entries.add(new WalEntry(next + i, 1, WalTestSupport.payload(thread, seq + i, size)));
      }
      if (batch % 4 == 3) {
        wal.append(entries).join();
      } else {
        wal.appendDurably(entries);
      }
      for (WalEntry e : entries) {
        out.println(e.index() + " " + thread + " " + seq++);
      }
      out.flush();
    }
  }

  private static void hardState(PrintStream out, Path dir) throws Exception {
    HardStateFile store = HardStateFile.open(dir);
    long k = store.load().term();
    while (true) {
      k++;
      store.save(new WalHardState(k, k % 5, 2 * k));
      out.println(k);
      out.flush();
    }
  }
}
