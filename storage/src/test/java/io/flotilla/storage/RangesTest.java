package io.flotilla.storage;

import static io.flotilla.storage.Cmds.b;
import static io.flotilla.storage.Cmds.bs;
import static io.flotilla.storage.Cmds.put;
import static io.flotilla.storage.Cmds.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.RangeDescriptor;
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
 * Many ranges in one store (docs/ranges.md): a split is metadata only, written in the left
 * range's batch; each range refuses keys it does not hold, keeps its own applied index and
 * sessions, and survives a reopen; a range's snapshot replaces exactly that range on another
 * replica, never a key another range there holds.
 */
class RangesTest {

  @TempDir
  Path tmp;

  private static final List<ReplicaDescriptor> REPLICAS = List.of(
      ReplicaDescriptor.newBuilder().setNodeId(1).setReplicaId(1).build(),
      ReplicaDescriptor.newBuilder().setNodeId(2).setReplicaId(2).build());

  private static Command split(String key, long rightId, RangeEpoch expected) {
    return Command.newBuilder().setSplit(SplitRange.newBuilder().setSplitKey(bs(key)).setRightRangeId(rightId)
        .setExpectedEpoch(expected).addAllReplicas(REPLICAS)).build();
  }

  private static List<Result> apply(RangeState r, long from, Command... commands) {
    List<CommittedCommand> batch = new ArrayList<>();
    for (int i = 0; i < commands.length; i++) {
      batch.add(new CommittedCommand(from + i, Math.max(1, r.appliedTerm()), commands[i].toByteArray()));
    }
    return r.apply(batch);
  }

  /** A store with keys a..z in its default range, split at m into range 2. */
  private KvStateMachine splitStore(String dir) throws Exception {
    KvStateMachine sm = KvStateMachine.open(tmp.resolve(dir), StorageOptions.defaults());
    RangeState all = sm.defaultRange();
    List<Command> puts = new ArrayList<>();
    for (char c = 'a'; c <= 'z'; c++) {
      puts.add(put(String.valueOf(c), "v" + c));
    }
    apply(all, 1, puts.toArray(Command[]::new));
    Result r = apply(all, 27, split("m", 2, RangeEpoch.getDefaultInstance())).get(0);
    assertThat(r.hasSplit()).as(r.toString()).isTrue();
    return sm;
  }

  @Test
  void aSplitMakesARightHandRangeWithTheSameReplicasAtTheNextVersion() throws Exception {
    try (KvStateMachine sm = splitStore("a")) {
      RangeState left = sm.range(1);
      RangeState right = sm.range(2);
      assertThat(sm.ranges()).extracting(RangeState::id).containsExactly(1L, 2L);
      assertThat(left.descriptor().getEndKey()).isEqualTo(bs("m"));
      assertThat(right.descriptor().getStartKey()).isEqualTo(bs("m"));
      assertThat(right.descriptor().getEndKey().isEmpty()).isTrue();
      assertThat(left.descriptor().getEpoch().getVersion()).isEqualTo(1);
      assertThat(right.descriptor().getEpoch().getVersion()).isEqualTo(1);
      assertThat(right.descriptor().getReplicasList()).isEqualTo(REPLICAS);
      assertThat(left.appliedIndex()).isEqualTo(27);
      assertThat(right.appliedIndex()).isEqualTo(RangeState.INITIAL_INDEX);
      assertThat(right.appliedTerm()).isEqualTo(RangeState.INITIAL_TERM);
      assertThat(sm.rangeFor(b("x"))).isSameAs(right);
      assertThat(sm.rangeFor(b("c"))).isSameAs(left);
      // No key moved: each range reads its half.
      assertThat(str(right.get(b("x")).orElseThrow())).isEqualTo("vx");
      assertThat(left.scan(new byte[0], new byte[0], 100, Long.MAX_VALUE).entries()).hasSize(12);
      assertThat(right.scan(new byte[0], new byte[0], 100, Long.MAX_VALUE).entries()).hasSize(14);
    }
  }

  @Test
  void eachRangeRefusesKeysItDoesNotHoldAndAppliesItsOwnLog() throws Exception {
    try (KvStateMachine sm = splitStore("a")) {
      RangeState left = sm.range(1);
      RangeState right = sm.range(2);
      Result refused = apply(left, 28, put("x", "late")).get(0);
      assertThat(refused.getError().getCode()).isEqualTo(Error.Code.KEY_OUT_OF_RANGE);
      assertThat(str(sm.get(b("x")).orElseThrow())).isEqualTo("vx");
      assertThat(apply(right, RangeState.INITIAL_INDEX + 1, put("x", "new")).get(0).hasPut()).isTrue();
      assertThat(str(sm.get(b("x")).orElseThrow())).isEqualTo("new");
      assertThat(left.appliedIndex()).isEqualTo(28);
      assertThat(right.appliedIndex()).isEqualTo(RangeState.INITIAL_INDEX + 1);
      // A transaction over both halves is refused whole by either.
      Command txn = Command.newBuilder().setTxn(io.flotilla.storage.proto.Txn.newBuilder()
          .addSuccess(Cmds.opPut("b", "1")).addSuccess(Cmds.opPut("y", "1"))).build();
      assertThat(apply(left, 29, txn).get(0).getError().getCode()).isEqualTo(Error.Code.KEY_OUT_OF_RANGE);
      assertThat(sm.get(b("b")).map(Cmds::str)).contains("vb");
    }
  }

  @Test
  void aSplitPlannedAgainstAnOldEpochOrAtABadKeyChangesNothing() throws Exception {
    try (KvStateMachine sm = splitStore("a")) {
      RangeState left = sm.range(1);
      RangeDescriptor before = left.descriptor();
      assertThat(apply(left, 28, split("c", 3, RangeEpoch.getDefaultInstance())).get(0).getError().getCode())
          .isEqualTo(Error.Code.STALE_EPOCH);
      RangeEpoch now = before.getEpoch();
      assertThat(apply(left, 29, split("x", 3, now)).get(0).getError().getCode())
          .isEqualTo(Error.Code.INVALID_ARGUMENT); // not in the range
      assertThat(apply(left, 30, split("", 3, now)).get(0).getError().getCode())
          .isEqualTo(Error.Code.INVALID_ARGUMENT); // the start key: the left half would be empty
      assertThat(apply(left, 31, split("c", 2, now)).get(0).getError().getCode())
          .isEqualTo(Error.Code.INVALID_ARGUMENT); // range 2 exists
      assertThat(left.descriptor()).isEqualTo(before);
      assertThat(sm.ranges()).hasSize(2);
    }
  }

  @Test
  void aClientsSessionGoesWithTheKeysToTheRightHandRange() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("s"), StorageOptions.defaults())) {
      RangeState all = sm.defaultRange();
      Command first = put("x", "1").toBuilder().setClientId(7).setSequence(1).build();
      assertThat(apply(all, 1, first).get(0).hasPut()).isTrue();
      apply(all, 2, split("m", 2, RangeEpoch.getDefaultInstance()));
      // The same write retried after the split reaches the range holding x: answered, not applied again.
      Result retried = apply(sm.range(2), RangeState.INITIAL_INDEX + 1, first).get(0);
      assertThat(retried.hasPut()).isTrue();
      assertThat(sm.range(2).sessionCount()).isEqualTo(1);
      Command next = put("x", "2").toBuilder().setClientId(7).setSequence(2).build();
      assertThat(apply(sm.range(2), RangeState.INITIAL_INDEX + 2, next).get(0).hasPut()).isTrue();
    }
  }

  @Test
  void rangesSurviveAReopen() throws Exception {
    RangeDescriptor left;
    RangeDescriptor right;
    byte[] digestRight;
    try (KvStateMachine sm = splitStore("r")) {
      apply(sm.range(2), RangeState.INITIAL_INDEX + 1, put("y", "again"));
      left = sm.range(1).descriptor();
      right = sm.range(2).descriptor();
      digestRight = sm.range(2).digest();
    }
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("r"), StorageOptions.defaults())) {
      assertThat(sm.range(1).descriptor()).isEqualTo(left);
      assertThat(sm.range(2).descriptor()).isEqualTo(right);
      assertThat(sm.range(1).appliedIndex()).isEqualTo(27);
      assertThat(sm.range(2).appliedIndex()).isEqualTo(RangeState.INITIAL_INDEX + 1);
      assertThat(sm.range(2).digest()).isEqualTo(digestRight);
    }
  }

  @Test
  void aRangesSnapshotReplacesThatRangeOnAnotherReplicaAndNothingElse() throws Exception {
    try (KvStateMachine a = splitStore("a"); KvStateMachine b = splitStore("b")) {
      apply(a.range(2), RangeState.INITIAL_INDEX + 1, put("y", "only-in-a"), Cmds.delete("z"));
      apply(b.range(1), 28, put("c", "only-in-b"));
      apply(b.range(2), RangeState.INITIAL_INDEX + 1, put("q", "stale-in-b"));
      byte[] snapshot = a.range(2).snapshot();
      assertThat(RangeState.headerOf(snapshot).appliedIndex()).isEqualTo(RangeState.INITIAL_INDEX + 2);
      b.range(2).install(snapshot);
      assertThat(b.range(2).digest()).isEqualTo(a.range(2).digest());
      assertThat(b.get(b("q")).map(Cmds::str)).contains("vq"); // the stale write is gone
      assertThat(b.get(b("z"))).isEmpty();
      assertThat(b.get(b("c")).map(Cmds::str)).contains("only-in-b"); // the left range is untouched
      assertThat(b.range(2).appliedIndex()).isEqualTo(RangeState.INITIAL_INDEX + 2);
    }
  }

  @Test
  void aRangeOfThousandsOfKeysEmptyValuesIncludedRoundTripsThroughItsSnapshot() throws Exception {
    long seed = Long.getLong("flotilla.seed", 1603);
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    try (KvStateMachine a = splitStore("a"); KvStateMachine b = splitStore("b")) {
      List<Command> puts = new ArrayList<>();
      for (int i = 0; i < 3000; i++) {
        byte[] v = new byte[random.nextInt(4) == 0 ? 0 : random.nextInt(1, 300)];
        random.nextBytes(v);
        puts.add(Command.newBuilder().setPut(io.flotilla.storage.proto.Put.newBuilder().setKey(bs("p" + i))
            .setValue(com.google.protobuf.ByteString.copyFrom(v))).build());
      }
      apply(a.range(2), RangeState.INITIAL_INDEX + 1, puts.toArray(Command[]::new));
      byte[] snapshot = a.range(2).snapshot();
      b.range(2).install(snapshot);
      assertThat(b.range(2).digest()).as("seed %d (rerun with -Dflotilla.seed=%d)", seed, seed)
          .isEqualTo(a.range(2).digest());
      assertThat(b.get(b("p7")).map(java.util.HexFormat.of()::formatHex))
          .isEqualTo(a.get(b("p7")).map(java.util.HexFormat.of()::formatHex));
      // The same state twice gives the same bytes (the two passes read one RocksDB snapshot).
      assertThat(a.range(2).snapshot()).isEqualTo(snapshot);
    }
  }

  @Test
  void aSnapshotOverlappingAnotherRangeHereOrDamagedIsRefused() throws Exception {
    try (KvStateMachine a = splitStore("a");
         KvStateMachine fresh = KvStateMachine.open(tmp.resolve("fresh"), StorageOptions.defaults())) {
      byte[] snapshot = a.range(2).snapshot();
      // The fresh store has not applied the split: its default range still holds these keys.
      assertThatThrownBy(() -> fresh.installRange(snapshot)).isInstanceOf(StorageFailure.class)
          .hasMessageContaining("overlaps range 1");
      assertThat(fresh.ranges()).hasSize(1);
      byte[] damaged = snapshot.clone();
      damaged[damaged.length / 2] ^= 1;
      assertThatThrownBy(() -> a.range(2).install(damaged)).isInstanceOf(StorageFailure.class)
          .hasMessageContaining("checksum");
    }
  }
}
