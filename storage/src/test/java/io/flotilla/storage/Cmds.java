package io.flotilla.storage;

import com.google.protobuf.ByteString;
import io.flotilla.storage.proto.Cas;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Compare;
import io.flotilla.storage.proto.Delete;
import io.flotilla.storage.proto.Incr;
import io.flotilla.storage.proto.Op;
import io.flotilla.storage.proto.Put;
import io.flotilla.storage.proto.Txn;
import java.nio.charset.StandardCharsets;

/** Terse builders for commands in tests. */
final class Cmds {

  private Cmds() {}

  static ByteString bs(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String str(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  static Command put(String k, String v) {
    return Command.newBuilder().setPut(Put.newBuilder().setKey(bs(k)).setValue(bs(v))).build();
  }

  static Command delete(String k) {
    return Command.newBuilder().setDelete(Delete.newBuilder().setKey(bs(k))).build();
  }

  static Command incr(String k, long delta) {
    return Command.newBuilder().setIncr(Incr.newBuilder().setKey(bs(k)).setDelta(delta)).build();
  }

  static Command casValue(String k, String expected, String newValue) {
    return Command.newBuilder().setCas(Cas.newBuilder().setKey(bs(k)).setExpectedValue(bs(expected))
        .setNewValue(bs(newValue))).build();
  }

  static Command casAbsent(String k, String newValue) {
    return Command.newBuilder().setCas(Cas.newBuilder().setKey(bs(k)).setExpectAbsent(true)
        .setNewValue(bs(newValue))).build();
  }

  static Command casDelete(String k, String expected) {
    return Command.newBuilder().setCas(Cas.newBuilder().setKey(bs(k)).setExpectedValue(bs(expected))
        .setDelete(true)).build();
  }

  static Compare equals(String k, String v) {
    return Compare.newBuilder().setKey(bs(k)).setTarget(Compare.Target.VALUE_EQUALS).setValue(bs(v)).build();
  }

  static Compare absent(String k) {
    return Compare.newBuilder().setKey(bs(k)).setTarget(Compare.Target.ABSENT).build();
  }

  static Compare present(String k) {
    return Compare.newBuilder().setKey(bs(k)).setTarget(Compare.Target.PRESENT).build();
  }

  static Op opPut(String k, String v) {
    return Op.newBuilder().setPut(Put.newBuilder().setKey(bs(k)).setValue(bs(v))).build();
  }

  static Op opDelete(String k) {
    return Op.newBuilder().setDelete(Delete.newBuilder().setKey(bs(k))).build();
  }

  static Txn.Builder txn() {
    return Txn.newBuilder();
  }

  static Command cmd(Txn.Builder txn) {
    return Command.newBuilder().setTxn(txn).build();
  }

  static Command session(Command c, long clientId, long sequence) {
    return c.toBuilder().setClientId(clientId).setSequence(sequence).build();
  }
}
