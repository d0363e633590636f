package io.flotilla.storage;

import static io.flotilla.storage.Cmds.b;
import static io.flotilla.storage.Cmds.bs;
import static io.flotilla.storage.Cmds.str;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.storage.proto.Cas;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Compare;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.Op;
import io.flotilla.storage.proto.Put;
import io.flotilla.storage.proto.Result;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandSemanticsTest {

  @TempDir
  Path dir;
  KvStateMachine sm;
  long index;

  @BeforeEach
  void open() throws Exception {
    sm = KvStateMachine.open(dir, new StorageOptions(16, 32, 6, 1000));
  }

  @AfterEach
  void close() {
    sm.close();
  }

  Result apply(Command c) {
    return apply(c.toByteArray());
  }

  Result apply(byte[] data) {
    index++;
    List<Result> r = sm.apply(List.of(new CommittedCommand(index, 1, data)));
    assertThat(sm.appliedIndex()).isEqualTo(index);
    return r.get(0);
  }

  String get(String key) {
    return sm.get(b(key)).map(Cmds::str).orElse(null);
  }

  void assertError(Result r, Error.Code code) {
    assertThat(r.hasError()).as("expected %s, got %s", code, r).isTrue();
    assertThat(r.getError().getCode()).isEqualTo(code);
  }

  @Test
  void putGetDelete() {
    assertThat(apply(Cmds.put("a", "1")).hasPut()).isTrue();
    assertThat(get("a")).isEqualTo("1");
    assertThat(apply(Cmds.put("a", "2")).hasPut()).isTrue();
    assertThat(get("a")).isEqualTo("2");
    assertThat(apply(Cmds.delete("a")).getDelete().getExisted()).isTrue();
    assertThat(get("a")).isNull();
    assertThat(apply(Cmds.delete("a")).getDelete().getExisted()).isFalse();
  }

  @Test
  void emptyValueIsAValue() {
    apply(Cmds.put("a", ""));
    assertThat(sm.get(b("a"))).hasValueSatisfying(v -> assertThat(v).isEmpty());
  }

  @Test
  void keyAndValueLimits() {
    assertError(apply(Cmds.put("", "v")), Error.Code.INVALID_ARGUMENT);
    assertError(apply(Cmds.put("k".repeat(17), "v")), Error.Code.TOO_LARGE);
    assertError(apply(Cmds.put("k", "v".repeat(33))), Error.Code.TOO_LARGE);
    assertError(apply(Cmds.delete("")), Error.Code.INVALID_ARGUMENT);
    assertError(apply(Cmds.incr("", 1)), Error.Code.INVALID_ARGUMENT);
    assertThat(apply(Cmds.put("k".repeat(16), "v".repeat(32))).hasPut()).isTrue();
    assertThat(sm.scan(new byte[0], new byte[0], 100).entries()).hasSize(1);
  }

  @Test
  void malformedAndUnknownCommandsAreErrorsWithoutStateChange() {
    byte[] before = sm.digest();
    assertError(apply(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}), Error.Code.INVALID_ARGUMENT);
    // A field number this version does not know: parses, but has no operation.
    assertError(apply(new byte[] {(byte) 0xf8, 0x07, 0x01}), Error.Code.INVALID_ARGUMENT);
    assertError(apply(Command.newBuilder().setClientId(0).setSequence(5).build()), Error.Code.INVALID_ARGUMENT);
    assertThat(sm.scan(new byte[0], new byte[0], 10).entries()).isEmpty();
    assertThat(sm.digest()).isNotEqualTo(before); // only the applied index moved
  }

  @Test
  void noopOnlyAdvancesAppliedIndex() {
    apply(Cmds.put("a", "1"));
    List<Result> r = sm.apply(List.of(CommittedCommand.noop(2, 3)));
    assertThat(r).containsExactly(Results.NOOP);
    assertThat(sm.appliedIndex()).isEqualTo(2);
    assertThat(sm.appliedTerm()).isEqualTo(3);
    assertThat(get("a")).isEqualTo("1");
  }

  @Test
  void casSemantics() {
    Result absentOk = apply(Cmds.casAbsent("c", "v1"));
    assertThat(absentOk.getCas().getSucceeded()).isTrue();
    assertThat(get("c")).isEqualTo("v1");

    Result absentFails = apply(Cmds.casAbsent("c", "v2"));
    assertThat(absentFails.getCas().getSucceeded()).isFalse();
    assertThat(absentFails.getCas().getCurrentValue()).isEqualTo(bs("v1"));
    assertThat(get("c")).isEqualTo("v1");

    Result wrong = apply(Cmds.casValue("c", "nope", "v3"));
    assertThat(wrong.getCas().getSucceeded()).isFalse();
    assertThat(wrong.getCas().getCurrentValue()).isEqualTo(bs("v1"));

    assertThat(apply(Cmds.casValue("c", "v1", "v3")).getCas().getSucceeded()).isTrue();
    assertThat(get("c")).isEqualTo("v3");

    Result missing = apply(Cmds.casValue("m", "x", "y"));
    assertThat(missing.getCas().getSucceeded()).isFalse();
    assertThat(missing.getCas().hasCurrentValue()).isFalse();

    assertThat(apply(Cmds.casDelete("c", "v3")).getCas().getSucceeded()).isTrue();
    assertThat(get("c")).isNull();
  }

  @Test
  void casInvalid() {
    assertError(apply(Command.newBuilder().setCas(Cas.newBuilder().setKey(bs("k")).setNewValue(bs("v"))).build()),
        Error.Code.INVALID_ARGUMENT);
    assertError(apply(Command.newBuilder().setCas(Cas.newBuilder().setKey(bs("k")).setExpectAbsent(true)).build()),
        Error.Code.INVALID_ARGUMENT);
    assertError(apply(Command.newBuilder().setCas(Cas.newBuilder().setKey(bs("k")).setExpectAbsent(false)
        .setNewValue(bs("v"))).build()), Error.Code.INVALID_ARGUMENT);
    assertError(apply(Cmds.casAbsent("k", "v".repeat(33))), Error.Code.TOO_LARGE);
    assertThat(get("k")).isNull();
  }

  @Test
  void incrSemantics() {
    assertThat(apply(Cmds.incr("n", 5)).getIncr().getValue()).isEqualTo(5);
    assertThat(get("n")).isEqualTo("5");
    assertThat(apply(Cmds.incr("n", -7)).getIncr().getValue()).isEqualTo(-2);
    assertThat(get("n")).isEqualTo("-2");
    apply(Cmds.put("n", "42"));
    assertThat(apply(Cmds.incr("n", 0)).getIncr().getValue()).isEqualTo(42);
  }

  @Test
  void incrErrorsLeaveValueUntouched() {
    for (String bad : List.of("abc", "", "+1", "01", "-0", "1.5", " 1", "99999999999999999999", "-")) {
      apply(Cmds.put("n", bad));
      assertError(apply(Cmds.incr("n", 1)), Error.Code.NOT_A_COUNTER);
      assertThat(get("n")).isEqualTo(bad);
    }
    apply(Cmds.put("n", Long.toString(Long.MAX_VALUE)));
    assertError(apply(Cmds.incr("n", 1)), Error.Code.OVERFLOW);
    assertThat(get("n")).isEqualTo(Long.toString(Long.MAX_VALUE));
    apply(Cmds.put("n", Long.toString(Long.MIN_VALUE)));
    assertError(apply(Cmds.incr("n", -1)), Error.Code.OVERFLOW);
    assertThat(apply(Cmds.incr("n", 1)).getIncr().getValue()).isEqualTo(Long.MIN_VALUE + 1);
  }

  @Test
  void txnSuccessAndFailureBranches() {
    apply(Cmds.put("a", "1"));
    Result ok = apply(Cmds.cmd(Cmds.txn()
        .addCompares(Cmds.equals("a", "1")).addCompares(Cmds.absent("b")).addCompares(Cmds.present("a"))
        .addSuccess(Cmds.opPut("b", "2")).addSuccess(Cmds.opDelete("a"))
        .addFailure(Cmds.opPut("f", "x"))));
    assertThat(ok.getTxn().getSucceeded()).isTrue();
    assertThat(ok.getTxn().getResultsCount()).isEqualTo(2);
    assertThat(ok.getTxn().getResults(1).getDelete().getExisted()).isTrue();
    assertThat(get("a")).isNull();
    assertThat(get("b")).isEqualTo("2");
    assertThat(get("f")).isNull();

    Result failed = apply(Cmds.cmd(Cmds.txn()
        .addCompares(Cmds.present("a"))
        .addSuccess(Cmds.opPut("s", "x"))
        .addFailure(Cmds.opPut("f", "y")).addFailure(Cmds.opDelete("zz"))));
    assertThat(failed.getTxn().getSucceeded()).isFalse();
    assertThat(failed.getTxn().getResults(1).getDelete().getExisted()).isFalse();
    assertThat(get("s")).isNull();
    assertThat(get("f")).isEqualTo("y");
  }

  @Test
  void txnOpsSeeEarlierOpsOfTheSameTxn() {
    Result r = apply(Cmds.cmd(Cmds.txn().addSuccess(Cmds.opPut("a", "1")).addSuccess(Cmds.opDelete("a"))));
    assertThat(r.getTxn().getResults(1).getDelete().getExisted()).isTrue();
    assertThat(get("a")).isNull();
  }

  @Test
  void invalidTxnIsAllOrNothing() {
    // valid first op, invalid second: nothing applies
    assertError(apply(Cmds.cmd(Cmds.txn().addSuccess(Cmds.opPut("a", "1")).addSuccess(Cmds.opPut("", "1")))),
        Error.Code.INVALID_ARGUMENT);
    // an invalid op in the branch that would not run still rejects the txn
    assertError(apply(Cmds.cmd(Cmds.txn().addSuccess(Cmds.opPut("a", "1")).addFailure(Cmds.opPut("b", "v".repeat(33))))),
        Error.Code.TOO_LARGE);
    assertError(apply(Cmds.cmd(Cmds.txn().addSuccess(Op.getDefaultInstance()))), Error.Code.INVALID_ARGUMENT);
    assertError(apply(Cmds.cmd(Cmds.txn().addCompares(Compare.newBuilder().setKey(bs("a")))
        .addSuccess(Cmds.opPut("a", "1")))), Error.Code.INVALID_ARGUMENT);
    assertError(apply(Cmds.cmd(Cmds.txn().addCompares(Cmds.absent("a").toBuilder().setValue(bs("v")))
        .addSuccess(Cmds.opPut("a", "1")))), Error.Code.INVALID_ARGUMENT);
    // 7 > maxTxnOps (6)
    assertError(apply(Cmds.cmd(Cmds.txn().addCompares(Cmds.absent("a")).addCompares(Cmds.absent("b"))
        .addCompares(Cmds.absent("c")).addSuccess(Cmds.opPut("a", "1"))
        .addSuccess(Cmds.opPut("b", "1")).addFailure(Cmds.opPut("c", "1")).addFailure(Cmds.opPut("d", "1")))),
        Error.Code.TOO_LARGE);
    assertThat(sm.scan(new byte[0], new byte[0], 10).entries()).isEmpty();
    // exactly at the limit works
    assertThat(apply(Cmds.cmd(Cmds.txn().addCompares(Cmds.absent("a")).addCompares(Cmds.absent("b"))
        .addSuccess(Cmds.opPut("a", "1")).addSuccess(Cmds.opPut("b", "1"))
        .addFailure(Cmds.opPut("c", "1")).addFailure(Cmds.opPut("d", "1")))).getTxn().getSucceeded()).isTrue();
  }

  @Test
  void laterCommandsInOneBatchSeeEarlierWrites() {
    List<CommittedCommand> batch = new ArrayList<>();
    batch.add(new CommittedCommand(1, 1, Cmds.put("a", "1").toByteArray()));
    batch.add(new CommittedCommand(2, 1, Cmds.casValue("a", "1", "2").toByteArray()));
    batch.add(new CommittedCommand(3, 1, Cmds.incr("a", 40).toByteArray()));
    batch.add(new CommittedCommand(4, 1, Cmds.cmd(Cmds.txn().addCompares(Cmds.equals("a", "42"))
        .addSuccess(Cmds.opDelete("a")).addSuccess(Cmds.opPut("done", "yes"))).toByteArray()));
    batch.add(new CommittedCommand(5, 1, Cmds.delete("a").toByteArray()));
    List<Result> r = sm.apply(batch);
    assertThat(r.get(1).getCas().getSucceeded()).isTrue();
    assertThat(r.get(2).getIncr().getValue()).isEqualTo(42);
    assertThat(r.get(3).getTxn().getSucceeded()).isTrue();
    assertThat(r.get(4).getDelete().getExisted()).isFalse();
    assertThat(get("done")).isEqualTo("yes");
    assertThat(sm.appliedIndex()).isEqualTo(5);
  }

  @Test
  void scanPagesWithContinuation() {
    for (String k : List.of("a", "b", "c", "d", "e")) {
      apply(Cmds.put(k, k.toUpperCase()));
    }
    apply(Command.newBuilder().setPut(Put.newBuilder().setKey(bs("\u00ff")).setValue(bs("hi"))).build());
    ScanResult p1 = sm.scan(b("b"), b("e"), 2);
    assertThat(p1.entries()).extracting(p -> str(p.key())).containsExactly("b", "c");
    assertThat(str(p1.continuationKey())).isEqualTo("d");
    ScanResult p2 = sm.scan(p1.continuationKey(), b("e"), 2);
    assertThat(p2.entries()).extracting(p -> str(p.value())).containsExactly("D");
    assertThat(p2.done()).isTrue();
    ScanResult all = sm.scan(new byte[0], new byte[0], 100);
    assertThat(all.entries()).hasSize(6);
    assertThat(str(all.entries().get(5).key())).isEqualTo("\u00ff"); // unsigned order: 0xC3 sorts last
    ScanResult exact = sm.scan(new byte[0], new byte[0], 6);
    assertThat(exact.done()).isTrue();
  }
}
