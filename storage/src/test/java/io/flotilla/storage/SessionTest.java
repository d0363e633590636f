package io.flotilla.storage;

import static io.flotilla.storage.Cmds.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SessionTest {

  @TempDir
  Path dir;
  long index;

  Result apply(KvStateMachine sm, Command c) {
    index++;
    return sm.apply(List.of(new CommittedCommand(index, 1, c.toByteArray()))).get(0);
  }

  void noops(KvStateMachine sm, int n) {
    for (int i = 0; i < n; i++) {
      index++;
      sm.apply(List.of(CommittedCommand.noop(index, 1)));
    }
  }

  String get(KvStateMachine sm, String key) {
    return sm.get(b(key)).map(Cmds::str).orElse(null);
  }

  @Test
  void duplicateSequenceReturnsCachedResultAndAppliesOnce() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      Result first = apply(sm, Cmds.session(Cmds.incr("n", 5), 7, 1));
      assertThat(first.getIncr().getValue()).isEqualTo(5);
      Result retry = apply(sm, Cmds.session(Cmds.incr("n", 5), 7, 1));
      assertThat(retry.toByteArray()).isEqualTo(first.toByteArray());
      assertThat(get(sm, "n")).isEqualTo("5");
      // the same retry inside one batch with the original
      List<Result> batch = sm.apply(List.of(
          new CommittedCommand(++index, 1, Cmds.session(Cmds.incr("n", 1), 7, 2).toByteArray()),
          new CommittedCommand(++index, 1, Cmds.session(Cmds.incr("n", 1), 7, 2).toByteArray())));
      assertThat(batch.get(0).getIncr().getValue()).isEqualTo(6);
      assertThat(batch.get(1)).isEqualTo(batch.get(0));
      assertThat(get(sm, "n")).isEqualTo("6");
    }
  }

  // Regression: a client that reused an applied sequence for a different write got the first
  // write's success while its own write was silently dropped.
  @Test
  void aDifferentWriteUnderAnAppliedSequenceIsRefusedAndNotApplied() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      Result first = apply(sm, Cmds.session(Cmds.put("a", "1"), 7, 1));
      assertThat(first.hasPut()).isTrue();
      Result other = apply(sm, Cmds.session(Cmds.put("b", "2"), 7, 1));
      assertThat(Results.isError(other, Error.Code.SEQUENCE_REUSED)).as("%s", other).isTrue();
      assertThat(get(sm, "b")).isNull();
      // The session is unchanged by the refusal: the genuine retry still gets its result.
      assertThat(apply(sm, Cmds.session(Cmds.put("a", "1"), 7, 1))).isEqualTo(first);
      assertThat(apply(sm, Cmds.session(Cmds.put("c", "3"), 7, 2)).hasPut()).isTrue();
    }
    // The digest is replicated state: it survives a reopen.
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      Result other = apply(sm, Cmds.session(Cmds.put("c", "4"), 7, 2));
      assertThat(Results.isError(other, Error.Code.SEQUENCE_REUSED)).isTrue();
      assertThat(get(sm, "c")).isEqualTo("3");
    }
  }

  @Test
  void staleAndUnknownSequences() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      assertThat(apply(sm, Cmds.session(Cmds.put("a", "1"), 9, 1)).hasPut()).isTrue();
      assertThat(apply(sm, Cmds.session(Cmds.put("a", "3"), 9, 3)).hasPut()).isTrue(); // gaps allowed
      Result stale = apply(sm, Cmds.session(Cmds.put("a", "2"), 9, 2));
      assertThat(Results.isError(stale, Error.Code.STALE_SEQUENCE)).isTrue();
      assertThat(get(sm, "a")).isEqualTo("3");
      Result unknown = apply(sm, Cmds.session(Cmds.put("b", "1"), 10, 4));
      assertThat(Results.isError(unknown, Error.Code.SESSION_EXPIRED)).isTrue();
      assertThat(get(sm, "b")).isNull();
      assertThat(sm.sessionCount()).isEqualTo(1);
    }
  }

  @Test
  void errorResultsAreCachedToo() throws Exception {
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      apply(sm, Cmds.put("n", "text"));
      Result err = apply(sm, Cmds.session(Cmds.incr("n", 1), 3, 1));
      assertThat(Results.isError(err, Error.Code.NOT_A_COUNTER)).isTrue();
      apply(sm, Cmds.put("n", "1"));
      // the retry must not re-execute against the changed state
      assertThat(apply(sm, Cmds.session(Cmds.incr("n", 1), 3, 1))).isEqualTo(err);
      assertThat(get(sm, "n")).isEqualTo("1");
    }
  }

  @Test
  void sessionsSurviveRestart() throws Exception {
    Result first;
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      first = apply(sm, Cmds.session(Cmds.incr("n", 2), 11, 1));
    }
    try (KvStateMachine sm = KvStateMachine.open(dir, StorageOptions.defaults())) {
      assertThat(sm.sessionCount()).isEqualTo(1);
      assertThat(apply(sm, Cmds.session(Cmds.incr("n", 2), 11, 1))).isEqualTo(first);
      assertThat(get(sm, "n")).isEqualTo("2");
    }
  }

  @Test
  void sessionsExpireByLogIndexNotBatching() throws Exception {
    StorageOptions opts = StorageOptions.defaults().withSessionExpiryEntries(10);
    try (KvStateMachine sm = KvStateMachine.open(dir, opts)) {
      apply(sm, Cmds.session(Cmds.put("a", "1"), 1, 1));   // client 1 touched at index 1
      apply(sm, Cmds.session(Cmds.put("b", "1"), 2, 1));   // client 2 touched at index 2
      noops(sm, 9);                                         // index 11: 11 - 1 = 10, not > 10
      assertThat(sm.sessionCount()).isEqualTo(2);
      // index 12: client 1 (12 - 1 > 10) expires before this command; client 2 (12 - 2 = 10) is
      // still alive and stays alive by being active
      assertThat(apply(sm, Cmds.session(Cmds.put("b", "2"), 2, 2)).hasPut()).isTrue();
      assertThat(sm.sessionCount()).isEqualTo(1);
      Result expired = apply(sm, Cmds.session(Cmds.put("a", "2"), 1, 2));   // index 13
      assertThat(Results.isError(expired, Error.Code.SESSION_EXPIRED)).isTrue();
      assertThat(get(sm, "a")).isEqualTo("1");
      noops(sm, 5);
      assertThat(sm.sessionCount()).isEqualTo(1);
      // client 1 re-registers at sequence 1
      assertThat(apply(sm, Cmds.session(Cmds.put("a", "3"), 1, 1)).hasPut()).isTrue();
      assertThat(sm.sessionCount()).isEqualTo(2);
    }
    // expiry state is rebuilt on open from the sessions column family
    try (KvStateMachine sm = KvStateMachine.open(dir, opts)) {
      assertThat(sm.sessionCount()).isEqualTo(2);
      noops(sm, 30);
      assertThat(sm.sessionCount()).isZero();
    }
  }

  @Test
  void expiryIsIndependentOfBatchBoundaries() throws Exception {
    List<CommittedCommand> stream = RandomStream.generate(99, 3000);
    StorageOptions opts = StorageOptions.defaults().withSessionExpiryEntries(25);
    byte[] oneByOne;
    byte[] batched;
    try (KvStateMachine sm = KvStateMachine.open(dir.resolve("a"), opts)) {
      RandomStream.applyInBatches(sm, stream, 1, 1);
      oneByOne = sm.digest();
    }
    try (KvStateMachine sm = KvStateMachine.open(dir.resolve("b"), opts)) {
      RandomStream.applyInBatches(sm, stream, 2, 300);
      batched = sm.digest();
    }
    assertThat(batched).isEqualTo(oneByOne);
  }
}
