package io.flotilla.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.storage.proto.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeterminismTest {

  @TempDir
  Path dir;

  @Test
  void sameStreamSameDigestAndResults() throws Exception {
    long seed = Long.getLong("flotilla.seed", 20261123L);
    List<CommittedCommand> stream = RandomStream.generate(seed, 5000);
    StorageOptions opts = StorageOptions.defaults().withSessionExpiryEntries(200);
    try (KvStateMachine a = KvStateMachine.open(dir.resolve("a"), opts);
         KvStateMachine b = KvStateMachine.open(dir.resolve("b"), opts)) {
      List<Result> ra = RandomStream.applyInBatches(a, stream, seed, 64);
      List<Result> rb = RandomStream.applyInBatches(b, stream, seed + 1, 7);
      assertThat(rb).as("seed %d", seed).hasSize(ra.size());
      for (int i = 0; i < ra.size(); i++) {
        assertThat(rb.get(i).toByteArray()).as("seed %d, index %d", seed, i + 1).isEqualTo(ra.get(i).toByteArray());
      }
      assertThat(b.digest()).as("seed %d", seed).isEqualTo(a.digest());
      assertThat(a.appliedIndex()).isEqualTo(5000);
      // the stream really exercised the interesting paths
      assertThat(ra).anyMatch(Result::hasError).anyMatch(Result::hasTxn).anyMatch(Result::hasCas)
          .anyMatch(Result::hasIncr).anyMatch(Result::hasNoop);
    }
  }
}
