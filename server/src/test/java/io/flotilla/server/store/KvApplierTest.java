package io.flotilla.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.StorageOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The applier over RocksDB where Raft's applied index and the state machine's may differ. */
class KvApplierTest {
  @TempDir Path dir;

  @Test
  void noSnapshotIsTakenWhileTheStateMachineIsAheadOfRaftAfterARecoveryCut() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir.resolve("state"), StorageOptions.defaults())) {
      KvApplier applier = new KvApplier(sm, KvStateMachine.DEFAULT_RANGE_ID, Configuration.EMPTY,
          () -> Configuration.EMPTY, Runnable::run, (split, cfg) -> { });
      for (long i = 1; i <= 5; i++) {
        applier.apply(Entry.noop(i, 1));
      }
      // Raft starts at 3 (its log was cut there: Recovery.startApplied); the state machine is at 5.
      // A checkpoint now would claim index 5 while Raft has applied 3: refused, retried later.
      assertThat(applier.takeSnapshot(3)).isCompletedExceptionally();
      // Entries 4 and 5 come back from the leader: skipped, and Raft catches up.
      applier.apply(new Entry(4, 1, EntryType.NOOP, new byte[0]));
      applier.apply(new Entry(5, 1, EntryType.NOOP, new byte[0]));
      assertThat(sm.appliedIndex()).isEqualTo(5);
      assertThat(applier.takeSnapshot(5).get().index()).isEqualTo(5);
    }
  }

  @Test
  void everyResultOfABatchLargerThanTheFirstRingIsKeptUntilPickedUp() throws Exception {
    // The ring of results starts small (one applier per range on a node of many ranges) and grows
    // to the batch: every proposal of a 3,000-entry batch must still find its result after it.
    try (KvStateMachine sm = KvStateMachine.open(dir.resolve("state"), StorageOptions.defaults())) {
      KvApplier applier = new KvApplier(sm, KvStateMachine.DEFAULT_RANGE_ID, Configuration.EMPTY,
          () -> Configuration.EMPTY, Runnable::run, (split, cfg) -> { });
      applier.apply(Entry.noop(1, 1));
      java.util.List<Entry> batch = new java.util.ArrayList<>();
      for (long i = 2; i <= 3001; i++) {
        batch.add(Entry.noop(i, 1));
      }
      applier.applyAll(batch);
      for (long i = 2; i <= 3001; i++) {
        assertThat(applier.resultOf(i)).as("result of entry %d", i).isNotNull();
      }
      assertThat(applier.resultOf(3002)).isNull();
    }
  }
}
