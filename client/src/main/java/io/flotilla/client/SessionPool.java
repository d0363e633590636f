package io.flotilla.client;

import java.security.SecureRandom;
import java.util.ArrayDeque;

/**
 * Client sessions for exactly-once writes. The cluster remembers, per client id, the last applied
 * sequence and its result, so a session may have only one write outstanding; a client with many
 * writes in flight holds as many sessions, reused as their writes finish. Client ids are random
 * 63-bit numbers, fresh for each client instance (a restarted client never reuses a sequence).
 */
final class SessionPool {
  /** One session; {@link #next()} numbers its writes 1, 2, 3... */
  static final class Session {
    final long clientId;
    private long sequence;

    Session(long clientId) {
      this.clientId = clientId;
    }

    long next() {
      return ++sequence;
    }
  }

  private final SecureRandom random = new SecureRandom();
  private final ArrayDeque<Session> idle = new ArrayDeque<>();

  synchronized Session acquire() {
    Session s = idle.pollFirst();
    return s != null ? s : acquireFresh();
  }

  /** A brand-new session whose first write (sequence 1) registers it with the cluster. */
  synchronized Session acquireFresh() {
    long id;
    do {
      id = random.nextLong() & Long.MAX_VALUE;
    } while (id == 0);
    return new Session(id);
  }

  /**
   * Returns a session whose write finished with a definite answer. A session whose write ended in
   * doubt is dropped instead: its sequence may or may not have been consumed.
   */
  synchronized void release(Session s) {
    idle.addFirst(s);
  }
}
