package io.flotilla.storage;

import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Compare;
import io.flotilla.storage.proto.Op;
import io.flotilla.storage.proto.RangeDescriptor;
import java.util.Arrays;
import java.util.HexFormat;

/** Key spans of ranges: membership of a key, the keys a command touches, clipping. */
final class Spans {
  private Spans() {}

  static boolean contains(RangeDescriptor d, byte[] key) {
    return Arrays.compareUnsigned(key, d.getStartKey().toByteArray()) >= 0
        && (d.getEndKey().isEmpty() || Arrays.compareUnsigned(key, d.getEndKey().toByteArray()) < 0);
  }

  /** Whether two spans share a key. */
  static boolean overlap(RangeDescriptor a, RangeDescriptor b) {
    boolean aBeforeB = !a.getEndKey().isEmpty()
        && Arrays.compareUnsigned(a.getEndKey().toByteArray(), b.getStartKey().toByteArray()) <= 0;
    boolean bBeforeA = !b.getEndKey().isEmpty()
        && Arrays.compareUnsigned(b.getEndKey().toByteArray(), a.getStartKey().toByteArray()) <= 0;
    return !aBeforeB && !bBeforeA;
  }

  /**
   * The first key {@code c} touches that {@code d} does not hold, or null. A malformed command
   * (no key) is the executor's to refuse.
   */
  static byte[] firstKeyOutside(Command c, RangeDescriptor d) {
    switch (c.getOpCase()) {
      case PUT -> {
        return outside(d, c.getPut().getKey().toByteArray());
      }
      case DELETE -> {
        return outside(d, c.getDelete().getKey().toByteArray());
      }
      case CAS -> {
        return outside(d, c.getCas().getKey().toByteArray());
      }
      case INCR -> {
        return outside(d, c.getIncr().getKey().toByteArray());
      }
      case TXN -> {
        for (Compare cmp : c.getTxn().getComparesList()) {
          byte[] k = outside(d, cmp.getKey().toByteArray());
          if (k != null) {
            return k;
          }
        }
        for (Op op : c.getTxn().getSuccessList()) {
          byte[] k = outside(d, keyOf(op));
          if (k != null) {
            return k;
          }
        }
        for (Op op : c.getTxn().getFailureList()) {
          byte[] k = outside(d, keyOf(op));
          if (k != null) {
            return k;
          }
        }
        return null;
      }
      default -> {
        return null;
      }
    }
  }

  private static byte[] keyOf(Op op) {
    return op.hasPut() ? op.getPut().getKey().toByteArray() : op.getDelete().getKey().toByteArray();
  }

  private static byte[] outside(RangeDescriptor d, byte[] key) {
    return key.length == 0 || contains(d, key) ? null : key;
  }

  /** The larger of two start keys. */
  static byte[] max(byte[] a, byte[] b) {
    return Arrays.compareUnsigned(a, b) >= 0 ? a : b;
  }

  /** The smaller of two end keys, empty meaning unbounded. */
  static byte[] minEnd(byte[] a, byte[] b) {
    if (a.length == 0) {
      return b;
    }
    if (b.length == 0) {
      return a;
    }
    return Arrays.compareUnsigned(a, b) <= 0 ? a : b;
  }

  static String show(byte[] key) {
    boolean printable = true;
    for (byte x : key) {
      printable &= x >= 0x20 && x < 0x7f;
    }
    return printable ? "'" + new String(key, java.nio.charset.StandardCharsets.US_ASCII) + "'"
        : "0x" + HexFormat.of().formatHex(key);
  }

  static String show(RangeDescriptor d) {
    return "[" + (d.getStartKey().isEmpty() ? "-inf" : show(d.getStartKey().toByteArray())) + ", "
        + (d.getEndKey().isEmpty() ? "+inf" : show(d.getEndKey().toByteArray())) + ")";
  }

  /**
   * The parts of {@code d}'s span that none of {@code others} covers, in key order, as
   * {start, end} pairs (an empty end: unbounded).
   */
  static java.util.List<byte[][]> subtract(RangeDescriptor d, java.util.List<RangeDescriptor> others) {
    java.util.List<RangeDescriptor> sorted = new java.util.ArrayList<>(others);
    sorted.sort((a, b) -> Arrays.compareUnsigned(a.getStartKey().toByteArray(), b.getStartKey().toByteArray()));
    java.util.List<byte[][]> out = new java.util.ArrayList<>();
    byte[] cursor = d.getStartKey().toByteArray();
    byte[] end = d.getEndKey().toByteArray();
    for (RangeDescriptor o : sorted) {
      if (!overlap(d, o)) {
        continue;
      }
      byte[] oStart = o.getStartKey().toByteArray();
      if (Arrays.compareUnsigned(oStart, cursor) > 0) {
        out.add(new byte[][] {cursor, oStart});
      }
      if (o.getEndKey().isEmpty()) {
        return out; // covered to the end
      }
      cursor = max(cursor, o.getEndKey().toByteArray());
      if (end.length > 0 && Arrays.compareUnsigned(cursor, end) >= 0) {
        return out;
      }
    }
    out.add(new byte[][] {cursor, end});
    return out;
  }
}
