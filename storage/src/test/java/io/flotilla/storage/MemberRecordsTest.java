package io.flotilla.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.snapshot.SnapshotMeta;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemberRecordsTest {

  @TempDir
  Path tmp;

  static CommittedCommand member(long index, long id, String peer, String client) {
    return new CommittedCommand(index, 1, Command.newBuilder().setMember(MemberInfo.newBuilder()
        .setId(id).setPeerAddress(peer).setClientAddress(client)).build().toByteArray());
  }

  @Test
  void memberRecordsAreReplicatedStateThatSurvivesReopenAndSnapshots() throws Exception {
    SnapshotMeta meta;
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults())) {
      sm.apply(List.of(member(1, 2, "n2:7001", "n2:7002"), member(2, 1, "n1:7001", "n1:7002"),
          new CommittedCommand(3, 1, Cmds.put("k", "v").toByteArray()),
          member(4, 2, "n2-moved:7001", "n2-moved:7002")));
      assertThat(sm.members().keySet()).containsExactly(1L, 2L);
      assertThat(sm.members().get(2L).getPeerAddress()).isEqualTo("n2-moved:7001");
      // Not user data: a full scan does not see them.
      assertThat(sm.scan(new byte[0], new byte[0], 100).entries()).hasSize(1);
      meta = sm.createSnapshot(tmp.resolve("snap"));
    }
    try (KvStateMachine again = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults());
         KvStateMachine other = KvStateMachine.open(tmp.resolve("b"), StorageOptions.defaults())) {
      assertThat(again.members().get(1L).getClientAddress()).isEqualTo("n1:7002");
      assertThat(other.members()).isEmpty();
      other.installSnapshot(meta.dir());
      assertThat(other.members()).isEqualTo(again.members());
    }
  }

  static CommittedCommand allocate(long index, long above) {
    return new CommittedCommand(index, 1, Command.newBuilder().setAllocateNodeId(
        io.flotilla.storage.proto.AllocateNodeId.newBuilder().setAbove(above)).build().toByteArray());
  }

  private static long allocated(Result r) {
    assertThat(r.hasNodeIdAllocated()).as("result %s", r).isTrue();
    return r.getNodeIdAllocated().getNodeId();
  }

  @Test
  void nodeIdsAreHandedOutOnceAboveEveryMemberAndSurviveReopenAndSnapshots() throws Exception {
    SnapshotMeta meta;
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults())) {
      List<Result> r = sm.apply(List.of(member(1, 1, "n1:7001", "n1:7002"), allocate(2, 0), allocate(3, 0),
          member(4, 7, "n7:7001", "n7:7002"), allocate(5, 0), allocate(6, 12)));
      // One past member 1; then past the id just handed out; past member 7 of the same batch;
      // past the proposer's configuration (members without records yet).
      assertThat(List.of(allocated(r.get(1)), allocated(r.get(2)), allocated(r.get(4)), allocated(r.get(5))))
          .containsExactly(2L, 3L, 8L, 13L);
      meta = sm.createSnapshot(tmp.resolve("snap"));
    }
    try (KvStateMachine again = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults());
         KvStateMachine other = KvStateMachine.open(tmp.resolve("b"), StorageOptions.defaults())) {
      assertThat(allocated(again.apply(List.of(allocate(7, 0))).get(0))).isEqualTo(14L);
      other.installSnapshot(meta.dir());
      assertThat(allocated(other.apply(List.of(allocate(7, 0))).get(0))).isEqualTo(14L);
    }
  }

  @Test
  void aMemberRecordWithoutIdOrPeerIsRefusedAndNotStored() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults())) {
      List<Result> r = sm.apply(List.of(member(1, 0, "n:1", "n:2"), member(2, 3, "", "n:2")));
      assertThat(r).allMatch(Result::hasError);
      assertThat(sm.members()).isEmpty();
      assertThat(sm.appliedIndex()).isEqualTo(2);
    }
  }

  @Test
  void membersVersionMovesExactlyWhenTheMemberTableMayHaveChanged() throws Exception {
    SnapshotMeta meta;
    try (KvStateMachine sm = KvStateMachine.open(tmp.resolve("a"), StorageOptions.defaults())) {
      assertThat(sm.membersVersion()).isZero();
      // User writes, no-ops, a refused record, and a malformed command that starts with the tag
      // byte of a member record (field 15, length-delimited): the table is unchanged.
      sm.apply(List.of(new CommittedCommand(1, 1, Cmds.put("k", "v").toByteArray()),
          new CommittedCommand(2, 1, new byte[0]), member(3, 0, "n:1", "n:2"),
          new CommittedCommand(4, 1, new byte[] {(byte) 0x7a, 1, 2})));
      assertThat(sm.membersVersion()).isZero();
      sm.apply(List.of(member(5, 2, "n2:1", "n2:2"), new CommittedCommand(6, 1, Cmds.put("a", "b").toByteArray()),
          member(7, 3, "n3:1", "n3:2")));
      assertThat(sm.membersVersion()).isEqualTo(2);
      // Entries already applied are skipped: nothing moves.
      sm.apply(List.of(member(7, 4, "n4:1", "n4:2")));
      assertThat(sm.membersVersion()).isEqualTo(2);
      meta = sm.createSnapshot(tmp.resolve("snap"));
    }
    try (KvStateMachine other = KvStateMachine.open(tmp.resolve("b"), StorageOptions.defaults())) {
      other.installSnapshot(meta.dir());
      assertThat(other.membersVersion()).isEqualTo(1);
      assertThat(other.members().keySet()).containsExactly(2L, 3L);
    }
  }

  @Test
  void theMemberTableOfAClosedStateMachineIsRefusedNotRead() throws Exception {
    KvStateMachine sm = KvStateMachine.open(tmp.resolve("closed"), StorageOptions.defaults());
    sm.close();
    org.assertj.core.api.Assertions.assertThatThrownBy(sm::members).isInstanceOf(IllegalStateException.class);
  }
}
