package io.flotilla.storage;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Child process of {@link CrashEquivalenceTest}: applies a seeded command stream in seeded batches
 * and prints {@code applied <index>} after each batch, until killed or done.
 * Args: dir seed count maxBatch sessionExpiryEntries.
 */
public final class StorageCrashChild {

  private StorageCrashChild() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    int count = Integer.parseInt(args[2]);
    int maxBatch = Integer.parseInt(args[3]);
    long expiry = Long.parseLong(args[4]);
    PrintStream out = System.out;
    List<CommittedCommand> stream = RandomStream.generate(seed, count);
    SplittableRandom batches = new SplittableRandom(seed ^ 0x5DEECE66DL);
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults().withSessionExpiryEntries(expiry))) {
      int i = (int) sm.appliedIndex();
      while (i < stream.size()) {
        int n = Math.min(stream.size() - i, 1 + batches.nextInt(maxBatch));
        sm.apply(stream.subList(i, i + n));
        i += n;
        out.println("applied " + sm.appliedIndex());
        out.flush();
      }
    }
    out.println("done");
    out.flush();
  }
}
