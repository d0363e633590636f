package io.flotilla.client.wire;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes of incomplete frames that the connections of one port may hold together. A connection
 * reserves what it buffers of a frame that has not fully arrived and releases it once the frame
 * is complete (or the connection closes). A reservation that would pass the budget fails, and
 * the connection asking is closed with an error: so a thousand connections that each announce a
 * large frame and never finish it cost the node at most this many bytes, never its memory.
 */
public final class InputBudget {
  private final long maxBytes;
  private final AtomicLong used = new AtomicLong();
  private final AtomicLong refusals = new AtomicLong();

  /** A budget of {@code maxBytes} (positive). */
  public InputBudget(long maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("input budget must be positive, got " + maxBytes);
    }
    this.maxBytes = maxBytes;
  }

  /** No limit beyond each frame's own size: for a client reading one server's answers. */
  public static InputBudget unlimited() {
    return new InputBudget(Long.MAX_VALUE);
  }

  /** Reserves {@code bytes}; false (nothing reserved) when that would pass the budget. */
  public boolean tryReserve(long bytes) {
    long now;
    do {
      now = used.get();
      if (bytes > maxBytes - now) {
        refusals.incrementAndGet();
        return false;
      }
    } while (!used.compareAndSet(now, now + bytes));
    return true;
  }

  public void release(long bytes) {
    long after = used.addAndGet(-bytes);
    assert after >= 0 : "released more than reserved: " + after;
  }

  /** Bytes reserved right now. */
  public long used() {
    return used.get();
  }

  public long maxBytes() {
    return maxBytes;
  }

  /** Reservations refused so far (each closed a connection). */
  public long refusals() {
    return refusals.get();
  }
}
