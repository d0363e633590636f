package io.flotilla.server.kv;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.client.proto.CasRequest;
import io.flotilla.client.proto.Compare;
import io.flotilla.client.proto.DeleteRequest;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetRequest;
import io.flotilla.client.proto.IncrRequest;
import io.flotilla.client.proto.PutRequest;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.client.proto.ScanRequest;
import io.flotilla.client.proto.TxnOp;
import io.flotilla.client.proto.TxnRequest;
import io.flotilla.storage.CommittedCommand;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.StorageOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client requests through the translator into a real state machine and back: the apply path. */
class KvTranslatorTest {
  @TempDir Path dir;
  private KvStateMachine sm;
  private final KvTranslator kv = new KvTranslator(StorageOptions.defaults());
  private long index;

  @BeforeEach
  void open() throws Exception {
    sm = KvStateMachine.open(dir, StorageOptions.defaults());
  }

  @AfterEach
  void close() throws Exception {
    sm.close();
  }

  private static ByteString s(String v) {
    return ByteString.copyFromUtf8(v);
  }

  /** What a node does for a write: translate, "commit", apply, answer. */
  private Response write(Request r) {
    KvTranslator.Translated t = kv.toCommand(r);
    if (t instanceof KvTranslator.Refusal refusal) {
      return refusal.response();
    }
    byte[] data = ((KvTranslator.Proposal) t).command().toByteArray();
    index++;
    var results = sm.apply(List.of(new CommittedCommand(index, 1, data)));
    return kv.toResponse(r.getRequestId(), results.get(0));
  }

  private Response get(String key) {
    return kv.getResponse(9, sm.get(key.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  void putGetDeleteRoundTrip() {
    Response put = write(Request.newBuilder().setRequestId(1)
        .setPut(PutRequest.newBuilder().setKey(s("k")).setValue(s("v"))).build());
    assertThat(put.hasError()).isFalse();
    assertThat(put.getRequestId()).isEqualTo(1);
    assertThat(get("k").getGet().getValue().toStringUtf8()).isEqualTo("v");
    Response del = write(Request.newBuilder().setRequestId(2)
        .setDelete(DeleteRequest.newBuilder().setKey(s("k"))).build());
    assertThat(del.getDelete().getExisted()).isTrue();
    assertThat(get("k").getGet().getFound()).isFalse();
  }

  @Test
  void casFailureCarriesTheCurrentValueAndTheCasFailedCode() {
    write(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(s("k")).setValue(s("a")))
        .build());
    Response miss = write(Request.newBuilder().setCas(CasRequest.newBuilder().setKey(s("k"))
        .setExpected(s("x")).setNewValue(s("b"))).build());
    assertThat(miss.getError().getCode()).isEqualTo(Error.Code.CAS_FAILED);
    assertThat(miss.getCas().getSwapped()).isFalse();
    assertThat(miss.getCas().getCurrent().toStringUtf8()).isEqualTo("a");
    Response hit = write(Request.newBuilder().setCas(CasRequest.newBuilder().setKey(s("k"))
        .setExpected(s("a")).setNewValue(s("b"))).build());
    assertThat(hit.hasError()).isFalse();
    assertThat(hit.getCas().getSwapped()).isTrue();
    Response absent = write(Request.newBuilder().setCas(CasRequest.newBuilder().setKey(s("new"))
        .setExpectAbsent(true).setNewValue(s("1"))).build());
    assertThat(absent.getCas().getSwapped()).isTrue();
  }

  @Test
  void countersAndTheirErrorsMapToClientCodes() {
    Request incr = Request.newBuilder().setIncr(IncrRequest.newBuilder().setKey(s("n"))
        .setDelta(5)).build();
    assertThat(write(incr).getIncr().getValue()).isEqualTo(5);
    assertThat(write(incr).getIncr().getValue()).isEqualTo(10);
    assertThat(get("n").getGet().getValue().toStringUtf8()).isEqualTo("10");
    write(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(s("w")).setValue(s("x")))
        .build());
    Response bad = write(Request.newBuilder().setIncr(IncrRequest.newBuilder().setKey(s("w"))
        .setDelta(1)).build());
    assertThat(bad.getError().getCode()).isEqualTo(Error.Code.NOT_A_COUNTER);
  }

  @Test
  void transactionsAreAllOrNothing() {
    TxnRequest txn = TxnRequest.newBuilder()
        .addCompares(Compare.newBuilder().setKey(s("lock")).setKind(Compare.Kind.ABSENT))
        .addSuccess(TxnOp.newBuilder().setPut(PutRequest.newBuilder().setKey(s("lock"))
            .setValue(s("me"))))
        .addSuccess(TxnOp.newBuilder().setPut(PutRequest.newBuilder().setKey(s("owner"))
            .setValue(s("me"))))
        .build();
    assertThat(write(Request.newBuilder().setTxn(txn).build()).getTxn().getSucceeded()).isTrue();
    assertThat(write(Request.newBuilder().setTxn(txn).build()).getTxn().getSucceeded()).isFalse();
    assertThat(get("owner").getGet().getValue().toStringUtf8()).isEqualTo("me");
  }

  @Test
  void requestsOverTheLimitsAreRefusedBeforeProposing() {
    byte[] bigKey = new byte[StorageOptions.DEFAULT_MAX_KEY_BYTES + 1];
    byte[] bigValue = new byte[StorageOptions.DEFAULT_MAX_VALUE_BYTES + 1];
    assertThat(kv.toCommand(Request.newBuilder().setPut(PutRequest.newBuilder()
        .setKey(ByteString.copyFrom(bigKey))).build()))
        .isInstanceOfSatisfying(KvTranslator.Refusal.class, r ->
            assertThat(r.response().getError().getCode()).isEqualTo(Error.Code.TOO_LARGE));
    assertThat(kv.toCommand(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(s("k"))
        .setValue(ByteString.copyFrom(bigValue))).build()))
        .isInstanceOfSatisfying(KvTranslator.Refusal.class, r ->
            assertThat(r.response().getError().getCode()).isEqualTo(Error.Code.TOO_LARGE));
    assertThat(kv.toCommand(Request.newBuilder().setDelete(DeleteRequest.newBuilder()).build()))
        .isInstanceOfSatisfying(KvTranslator.Refusal.class, r ->
            assertThat(r.response().getError().getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT));
    TxnRequest.Builder huge = TxnRequest.newBuilder();
    for (int i = 0; i <= StorageOptions.DEFAULT_MAX_TXN_OPS; i++) {
      huge.addSuccess(TxnOp.newBuilder().setDelete(DeleteRequest.newBuilder().setKey(s("k" + i))));
    }
    assertThat(kv.toCommand(Request.newBuilder().setTxn(huge).build()))
        .isInstanceOf(KvTranslator.Refusal.class);
    assertThat(kv.checkRead(Request.newBuilder().setGet(GetRequest.newBuilder()).build()))
        .isPresent();
    assertThat(index).isZero(); // nothing reached the state machine
  }

  @Test
  void scansPageWithAContinuation() {
    for (int i = 0; i < 5; i++) {
      write(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(s("s" + i))
          .setValue(s("v" + i))).build());
    }
    ScanRequest req = ScanRequest.newBuilder().setStart(s("s")).setLimit(3).build();
    Response page = kv.scanResponse(1, sm.scan(req.getStart().toByteArray(),
        req.getEnd().toByteArray(), req.getLimit()));
    assertThat(page.getScan().getEntriesList()).hasSize(3);
    assertThat(page.getScan().getContinuation().toStringUtf8()).isEqualTo("s3");
  }

  // A cas with expect_absent and a non-empty expected was served as expect_absent, silently.
  @Test
  void aCasWithBothExpectationsIsRefusedAndAnEmptyExpectedMeansAnEmptyValue() {
    Response both = write(Request.newBuilder().setCas(CasRequest.newBuilder().setKey(s("c"))
        .setExpectAbsent(true).setExpected(s("x")).setNewValue(s("1"))).build());
    assertThat(both.getError().getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
    assertThat(index).isZero();
    // expected empty and expect_absent false: the key must hold the empty value, so an absent key fails
    Response emptyOnAbsent = write(Request.newBuilder().setCas(CasRequest.newBuilder().setKey(s("c"))
        .setNewValue(s("1"))).build());
    assertThat(emptyOnAbsent.getError().getCode()).isEqualTo(Error.Code.CAS_FAILED);
    write(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(s("c"))).build());
    Response emptyOnEmpty = write(Request.newBuilder().setCas(CasRequest.newBuilder().setKey(s("c"))
        .setNewValue(s("1"))).build());
    assertThat(emptyOnEmpty.hasError()).isFalse();
    assertThat(emptyOnEmpty.getCas().getSwapped()).isTrue();
  }

  @Test
  void scanPagesEndBeforeTheByteCapButNeverEmpty() {
    byte[] v = new byte[400];
    for (int i = 0; i < 5; i++) {
      write(Request.newBuilder().setPut(PutRequest.newBuilder().setKey(s("p" + i))
          .setValue(ByteString.copyFrom(v))).build());
    }
    // 2 pairs = 2 x (2 + 400 + 16) bytes fit in 1000; a third would not.
    var page = sm.scan("p".getBytes(), new byte[0], 100, 1000);
    assertThat(page.entries()).hasSize(2);
    assertThat(new String(page.continuationKey())).isEqualTo("p2");
    // A cap smaller than one pair still returns that pair: a page is never empty.
    var one = sm.scan("p".getBytes(), new byte[0], 100, 1);
    assertThat(one.entries()).hasSize(1);
    assertThat(new String(one.continuationKey())).isEqualTo("p1");
  }
}
