package io.flotilla.storage;

import static io.flotilla.storage.Cmds.b;
import static io.flotilla.storage.Cmds.bs;
import static io.flotilla.storage.Cmds.put;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.storage.proto.AllocateNodeId;
import io.flotilla.storage.proto.AllocateRangeId;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.PlacementSettings;
import io.flotilla.storage.proto.PlacementTarget;
import io.flotilla.storage.proto.RangeEpoch;
import io.flotilla.storage.proto.ReplicaDescriptor;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.SplitRange;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The system range's placement bookkeeping (docs/placement.md): targets, settings and range ids
 * are replicated state that a range snapshot carries (with the node id counter, which a range
 * snapshot once failed on); a destroyed range leaves nothing behind and no other range's keys go.
 */
class PlacementRecordsTest {

  @TempDir
  Path tmp;

  private static List<Result> apply(RangeState r, long from, Command... commands) {
    List<CommittedCommand> batch = new ArrayList<>();
    for (int i = 0; i < commands.length; i++) {
      batch.add(new CommittedCommand(from + i, Math.max(1, r.appliedTerm()), commands[i].toByteArray()));
    }
    return r.apply(batch);
  }

  private static Command target(long range, long preferred, Long... voters) {
    return Command.newBuilder().setPlacement(PlacementTarget.newBuilder().setRangeId(range)
        .addAllVoters(List.of(voters)).setPreferredLeader(preferred).setStartKey(bs("m"))).build();
  }

  private static Command rangeId(long above) {
    return Command.newBuilder().setAllocateRangeId(AllocateRangeId.newBuilder().setAbove(above)).build();
  }

  @Test
  void targetsSettingsAndIdCountersAreStateThatARangeSnapshotCarries() throws Exception {
    try (KvStateMachine a = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults());
         KvStateMachine b = KvStateMachine.open(tmp.resolve("b"), StorageOptions.defaults())) {
      RangeState sys = a.defaultRange();
      List<Result> r = apply(sys, 1, target(2, 3, 1L, 2L, 3L), target(2, 0, 2L, 3L, 4L), target(5, 0, 1L, 1L),
          target(6, 9, 1L, 2L), Command.newBuilder().setPlacementSettings(PlacementSettings.newBuilder()
              .setReplicationFactor(5).setMaxMovesPerNode(2)).build(), rangeId(0), rangeId(0), rangeId(40),
          Command.newBuilder().setAllocateNodeId(AllocateNodeId.newBuilder().setAbove(3)).build(), put("k", "v"));
      assertThat(Results.isError(r.get(2), Error.Code.INVALID_ARGUMENT)).as("duplicate voter").isTrue();
      assertThat(Results.isError(r.get(3), Error.Code.INVALID_ARGUMENT)).as("leader not a voter").isTrue();
      assertThat(List.of(r.get(5), r.get(6), r.get(7)).stream().map(x -> x.getRangeIdAllocated().getRangeId()))
          .containsExactly(1L, 2L, 41L);
      assertThat(sys.placementTargets().keySet()).containsExactly(2L);
      assertThat(sys.placementTargets().get(2L).getVotersList()).containsExactly(2L, 3L, 4L);
      assertThat(sys.placementSettings().getReplicationFactor()).isEqualTo(5);

      byte[] snapshot = sys.snapshot();
      b.defaultRange().install(snapshot);
      RangeState copy = b.defaultRange();
      assertThat(copy.digest()).isEqualTo(sys.digest());
      assertThat(copy.placementTargets()).isEqualTo(sys.placementTargets());
      assertThat(copy.placementSettings()).isEqualTo(sys.placementSettings());
      assertThat(apply(copy, 11, rangeId(0)).get(0).getRangeIdAllocated().getRangeId()).isEqualTo(42L);
      assertThat(copy.members()).isEmpty();
    }
  }

  @Test
  void aDestroyedRangeLeavesNoKeyRecordOrSessionAndTheOtherRangesKeepTheirs() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults())) {
      RangeState all = sm.defaultRange();
      apply(all, 1, put("a", "1"), put("n", "2"), put("z", "3"));
      Result split = apply(all, 4, Command.newBuilder().setSplit(SplitRange.newBuilder().setSplitKey(bs("m"))
          .setRightRangeId(2).setExpectedEpoch(RangeEpoch.getDefaultInstance())
          .addReplicas(ReplicaDescriptor.newBuilder().setNodeId(1).setReplicaId(1))).build()).get(0);
      assertThat(split.hasSplit()).isTrue();
      apply(sm.range(2), RangeState.INITIAL_INDEX + 1, Command.newBuilder(put("p", "4")).setClientId(7).setSequence(1)
          .build());
      assertThat(sm.destroyRange(2)).isTrue();
      assertThat(sm.destroyRange(2)).isFalse();
      assertThat(sm.range(2)).isNull();
      assertThat(sm.get(b("n"))).isEmpty();
      assertThat(sm.get(b("p"))).isEmpty();
      assertThat(sm.get(b("a")).map(Cmds::str)).contains("1");
      assertThatNothingOfRange2(sm);
    }
    try (KvStateMachine again = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults())) {
      assertThat(again.ranges()).extracting(RangeState::id).containsExactly(1L);
      assertThatNothingOfRange2(again);
    }
  }

  private static void assertThatNothingOfRange2(KvStateMachine sm) {
    RocksStore store = sm.store();
    try (var it = store.db.newIterator(store.meta)) {
      it.seek(Keys.rangePrefix(2));
      assertThat(it.isValid() && Keys.hasPrefix(it.key(), Keys.rangePrefix(2))).isFalse();
    }
    try (var it = store.db.newIterator(store.sessions)) {
      it.seek(Keys.sessionPrefix(2));
      assertThat(it.isValid() && Keys.hasPrefix(it.key(), Keys.sessionPrefix(2))).isFalse();
    }
  }
}
