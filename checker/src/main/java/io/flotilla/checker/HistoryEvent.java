package io.flotilla.checker;

/**
 * One event of a history: an invocation or a completion of one client operation. (A chaos run
 * writes each as one line of {@code history.jsonl}, these fields in this order.)
 *
 * @param process     the logical client; it has at most one operation outstanding, and after an
 *                    {@code info} completion it is never used again
 * @param type        {@code invoke}, {@code ok}, {@code fail} (certainly not applied) or
 *                    {@code info} (outcome unknown)
 * @param f           {@code put}, {@code get}, {@code cas}, {@code delete}, {@code incr}, {@code txn}
 * @param key         the key, or for the bank workload the account set ("bank-G")
 * @param value       on invoke the argument, on ok the result (see docs/testing.md)
 * @param time        nanoseconds on one monotonic clock shared by every process
 * @param consistency the read consistency for reads; null for writes
 */
public record HistoryEvent(int process, String type, String f, String key, Object value, long time,
    String consistency) {

  public static final String INVOKE = "invoke";
  public static final String OK = "ok";
  public static final String FAIL = "fail";
  public static final String INFO = "info";

  public HistoryEvent {
    if (!type.equals(INVOKE) && !type.equals(OK) && !type.equals(FAIL) && !type.equals(INFO)) {
      throw new IllegalArgumentException("event type must be invoke|ok|fail|info, got " + type);
    }
  }

  boolean isInvoke() {
    return type.equals(INVOKE);
  }
}
