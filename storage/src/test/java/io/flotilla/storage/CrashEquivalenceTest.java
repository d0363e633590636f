package io.flotilla.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.storage.proto.Result;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 at a seeded moment, reopen, replay the log from appliedIndex + 1: the final state and the
 * results of the replayed entries must equal those of a state machine that never crashed.
 *
 * <p>The seed fixes the command stream, the batch sizes and after which printed batch the kill is
 * sent; how far the child got when the signal lands depends on timing, and every such point must
 * pass. Rerun one seed with {@code -Dflotilla.seed=N}; {@code -Dflotilla.soak=true} runs 40 seeds.
 */
class CrashEquivalenceTest {

  static final int COUNT = 8000;
  static final int MAX_BATCH = 40;
  static final long EXPIRY = 300;

  @TempDir
  Path tmp;

  @Test
  void killedChildRecoversToReplayEquivalentState() throws Exception {
    Long fixed = Long.getLong("flotilla.seed");
    long[] seeds = fixed != null ? new long[] {fixed}
        : Boolean.getBoolean("flotilla.soak") ? java.util.stream.LongStream.rangeClosed(1, 40).toArray()
        : new long[] {11, 12};
    for (long seed : seeds) {
      try {
        runOnce(seed);
      } catch (AssertionError | Exception e) {
        throw new AssertionError("crash equivalence failed for seed " + seed + "; rerun: ./mvnw -q -B -pl storage test"
            + " -Dtest=CrashEquivalenceTest -Dflotilla.seed=" + seed, e);
      }
    }
  }

  private void runOnce(long seed) throws Exception {
    List<CommittedCommand> stream = RandomStream.generate(seed, COUNT);
    StorageOptions opts = StorageOptions.defaults().withSessionExpiryEntries(EXPIRY);
    List<Result> reference;
    byte[] referenceDigest;
    try (KvStateMachine ref = KvStateMachine.open(tmp.resolve("ref-" + seed), opts)) {
      reference = RandomStream.applyInBatches(ref, stream, seed, 100);
      referenceDigest = ref.digest();
    }

    Path dir = tmp.resolve("crash-" + seed);
    int killAfterLine = 1 + new SplittableRandom(seed).nextInt(60);
    Path stderr = tmp.resolve("child-" + seed + ".err");
    Process child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        StorageCrashChild.class.getName(),
        dir.toString(), Long.toString(seed), Integer.toString(COUNT), Integer.toString(MAX_BATCH),
        Long.toString(EXPIRY))
        .redirectError(stderr.toFile())
        .start();
    long lastPrinted = 0;
    int lines = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.US_ASCII))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("applied ")) {
          lastPrinted = Long.parseLong(line.substring("applied ".length()));
          if (++lines == killAfterLine) {
            // Not Process.destroyForcibly(): that also closes our end of the child's pipes.
            child.toHandle().destroyForcibly();
            break;
          }
        }
      }
    }
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("child exited").isTrue();
    assertThat(lastPrinted).as("child made progress; stderr: %s", Files.readString(stderr)).isPositive();

    try (KvStateMachine sm = KvStateMachine.open(dir, opts)) {
      long recovered = sm.appliedIndex();
      System.out.printf("seed %d: killed after line %d (index %d), recovered appliedIndex %d of %d%n",
          seed, killAfterLine, lastPrinted, recovered, COUNT);
      // kill -9 loses nothing that was acknowledged: the OS still has RocksDB's unsynced WAL
      assertThat(recovered).as("seed %d killAfterLine %d", seed, killAfterLine).isGreaterThanOrEqualTo(lastPrinted);
      List<CommittedCommand> rest = stream.subList((int) recovered, COUNT);
      List<Result> replayed = new ArrayList<>();
      // the driver may also resend entries it is unsure about: they are skipped
      List<CommittedCommand> withOverlap = stream.subList((int) Math.max(0, recovered - 5), COUNT);
      List<Result> all = RandomStream.applyInBatches(sm, withOverlap, seed + 99, 33);
      replayed.addAll(all.subList(all.size() - rest.size(), all.size()));
      assertThat(all.subList(0, all.size() - rest.size())).containsOnly(Results.ALREADY_APPLIED);
      for (int i = 0; i < rest.size(); i++) {
        long index = rest.get(i).index();
        assertThat(replayed.get(i)).as("result at index %d", index).isEqualTo(reference.get((int) index - 1));
      }
      assertThat(sm.appliedIndex()).isEqualTo(COUNT);
      assertThat(sm.digest()).isEqualTo(referenceDigest);
    }
  }
}
