package io.flotilla.checker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One client operation: an invocation paired with its completion.
 *
 * @param outcome  {@code ok}, {@code fail} or {@code info}
 * @param complete completion time; {@link Long#MAX_VALUE} for {@code info} (it may take effect at
 *                 any time after its invocation, or never)
 */
public record Operation(int process, String f, String key, Object arg, Object result,
    String outcome, long invoke, long complete, String consistency) {

  public boolean ok() {
    return outcome.equals(HistoryEvent.OK);
  }

  public boolean info() {
    return outcome.equals(HistoryEvent.INFO);
  }

  public boolean isRead() {
    return f.equals("get");
  }

  /**
   * Pairs each invocation with its process's next completion. An invocation left without one (the
   * run stopped while it was outstanding) is {@code info}. A completion without an invocation, or
   * a second invocation while one is outstanding, is a malformed history.
   */
  public static List<Operation> pair(List<HistoryEvent> events) {
    Map<Integer, HistoryEvent> open = new HashMap<>();
    List<Operation> out = new ArrayList<>();
    for (HistoryEvent e : events) {
      if (e.isInvoke()) {
        if (open.put(e.process(), e) != null) {
          throw new IllegalArgumentException("process " + e.process()
              + " invoked a second operation while one was outstanding at time " + e.time());
        }
        continue;
      }
      HistoryEvent inv = open.remove(e.process());
      if (inv == null) {
        throw new IllegalArgumentException("completion without invocation: " + e);
      }
      if (!inv.f().equals(e.f()) || !inv.key().equals(e.key())) {
        throw new IllegalArgumentException("completion " + e + " does not match " + inv);
      }
      boolean info = e.type().equals(HistoryEvent.INFO);
      out.add(new Operation(e.process(), inv.f(), inv.key(), inv.value(), e.value(), e.type(),
          inv.time(), info ? Long.MAX_VALUE : e.time(), inv.consistency()));
    }
    for (HistoryEvent inv : open.values()) {
      out.add(new Operation(inv.process(), inv.f(), inv.key(), inv.value(), null,
          HistoryEvent.INFO, inv.time(), Long.MAX_VALUE, inv.consistency()));
    }
    out.sort((a, b) -> Long.compare(a.invoke(), b.invoke()));
    return out;
  }

  /**
   * A write of {@code value} to a {@link Model.Register}, for a history built in code (the Raft
   * simulator's): acknowledged at {@code complete}, or of unknown outcome ({@code info}) when
   * {@code complete} is {@link Long#MAX_VALUE}.
   */
  public static Operation write(int process, String key, long value, long invoke, long complete) {
    return new Operation(process, "put", key, value, null,
        complete == Long.MAX_VALUE ? HistoryEvent.INFO : HistoryEvent.OK, invoke, complete, null);
  }

  /** A read of a {@link Model.Register} that returned {@code value}, answered at {@code complete}. */
  public static Operation read(int process, String key, long value, long invoke, long complete) {
    return new Operation(process, "get", key, null, value, HistoryEvent.OK, invoke, complete, null);
  }

  /** A number in a history (JSON reads small numbers as Integer) as a long; null stays null. */
  public static Long asLong(Object o) {
    if (o == null) {
      return null;
    }
    if (o instanceof Number n) {
      return n.longValue();
    }
    throw new IllegalArgumentException("expected a number, got " + o);
  }
}
