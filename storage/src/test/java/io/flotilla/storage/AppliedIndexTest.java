package io.flotilla.storage;

import static io.flotilla.storage.Cmds.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.storage.proto.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppliedIndexTest {

  @TempDir
  Path dir;

  static CommittedCommand entry(long index, String key, String value) {
    return new CommittedCommand(index, 2, Cmds.put(key, value).toByteArray());
  }

  @Test
  void freshStateMachineStartsAtZero() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      assertThat(sm.appliedIndex()).isZero();
      assertThat(sm.appliedTerm()).isZero();
      assertThat(sm.apply(List.of())).isEmpty();
    }
  }

  @Test
  void stateAndAppliedIndexSurviveReopen() throws Exception {
    byte[] digest;
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      sm.apply(List.of(entry(1, "a", "1"), entry(2, "b", "2")));
      sm.apply(List.of(CommittedCommand.noop(3, 5)));
      digest = sm.digest();
    }
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      assertThat(sm.appliedIndex()).isEqualTo(3);
      assertThat(sm.appliedTerm()).isEqualTo(5);
      assertThat(sm.get(b("b"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("2")));
      assertThat(sm.digest()).isEqualTo(digest);
    }
  }

  @Test
  void replayingAppliedEntriesIsANoOp() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      sm.apply(List.of(entry(1, "a", "1"), entry(2, "a", "2")));
      byte[] digest = sm.digest();
      List<Result> again = sm.apply(List.of(entry(1, "a", "x"), entry(2, "a", "y")));
      assertThat(again).containsOnly(Results.ALREADY_APPLIED);
      assertThat(sm.digest()).isEqualTo(digest);
      // overlap: skip the applied prefix, apply the rest
      List<Result> overlap = sm.apply(List.of(entry(2, "a", "y"), entry(3, "a", "3")));
      assertThat(overlap.get(0)).isEqualTo(Results.ALREADY_APPLIED);
      assertThat(overlap.get(1).hasPut()).isTrue();
      assertThat(sm.get(b("a"))).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("3")));
      assertThat(sm.appliedIndex()).isEqualTo(3);
    }
  }

  @Test
  void gapOrDisorderThrowsAndAppliesNothing() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      sm.apply(List.of(entry(1, "a", "1")));
      byte[] digest = sm.digest();
      assertThatThrownBy(() -> sm.apply(List.of(entry(3, "a", "3"))))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("gap");
      assertThatThrownBy(() -> sm.apply(List.of(entry(2, "a", "2"), entry(4, "a", "4"))))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("gap");
      assertThatThrownBy(() -> sm.apply(List.of(entry(2, "a", "2"), entry(2, "a", "2"))))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("strictly increasing");
      assertThatThrownBy(() -> sm.apply(List.of(new CommittedCommand(2, 1, new byte[0]))))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("term went back");
      assertThat(sm.appliedIndex()).isEqualTo(1);
      assertThat(sm.digest()).isEqualTo(digest);
      sm.apply(List.of(entry(2, "a", "2")));  // still usable: a rejected call changed nothing
      assertThat(sm.appliedIndex()).isEqualTo(2);
    }
  }

  @Test
  void secondOpenOfTheSameDirectoryIsRefused() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      assertThatThrownBy(() -> KvStateMachine.open(dir, StorageOptions.defaults()))
          .isInstanceOf(StorageLockedException.class);
      sm.apply(List.of(entry(1, "a", "1")));
    }
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      assertThat(sm.appliedIndex()).isEqualTo(1);
    }
  }

  @Test
  void closedStateMachineRefusesUse() throws Exception {
    KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults());
    sm.close();
    sm.close();
    assertThatThrownBy(() -> sm.get(b("a"))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> sm.apply(List.of(entry(1, "a", "1")))).isInstanceOf(IllegalStateException.class);
  }
}
