package io.flotilla.server.request;

import io.flotilla.client.proto.Compare;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.TxnOp;
import java.util.ArrayList;
import java.util.List;

/** The keys a client request touches: what decides the range that serves it (docs/ranges.md). */
final class Routing {
  private Routing() {}

  /** Every key of {@code r} (a scan's: its start), empty for requests of no key. */
  static List<byte[]> keys(Request r) {
    return switch (r.getOpCase()) {
      case PUT -> List.of(r.getPut().getKey().toByteArray());
      case GET -> List.of(r.getGet().getKey().toByteArray());
      case DELETE -> List.of(r.getDelete().getKey().toByteArray());
      case CAS -> List.of(r.getCas().getKey().toByteArray());
      case INCR -> List.of(r.getIncr().getKey().toByteArray());
      case SCAN -> List.of(r.getScan().getStart().toByteArray());
      case TXN -> {
        List<byte[]> keys = new ArrayList<>();
        for (Compare c : r.getTxn().getComparesList()) {
          keys.add(c.getKey().toByteArray());
        }
        for (TxnOp op : r.getTxn().getSuccessList()) {
          keys.add(keyOf(op));
        }
        for (TxnOp op : r.getTxn().getFailureList()) {
          keys.add(keyOf(op));
        }
        yield keys;
      }
      default -> List.of();
    };
  }

  private static byte[] keyOf(TxnOp op) {
    return op.hasPut() ? op.getPut().getKey().toByteArray() : op.getDelete().getKey().toByteArray();
  }
}
