package io.flotilla.checker;

import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The record of every client operation of a run: appended by many threads, handed to a
 * {@link Sink} as it happens (a chaos run writes a JSONL file, so a run cut short still leaves its
 * history) and kept in memory for the checks. Times come from {@link System#nanoTime()} relative
 * to the run's start: one monotonic clock for all processes.
 */
public final class History implements AutoCloseable {

  /** Where events go as they are recorded: called under the history's lock, so in time order. */
  public interface Sink extends Closeable, Flushable {
    void write(HistoryEvent e) throws IOException;
  }

  private final long t0;
  private final Sink sink;
  private final List<HistoryEvent> events = new ArrayList<>();
  private final AtomicInteger processes = new AtomicInteger();

  /** A history kept in memory only. */
  public History(long t0) {
    this(null, t0);
  }

  /** @param sink where each event goes as it is recorded, or null to keep the history in memory only */
  public History(Sink sink, long t0) {
    this.t0 = t0;
    this.sink = sink;
  }

  /** A process id never handed out before. */
  public int newProcess() {
    return processes.getAndIncrement();
  }

  /** Nanoseconds since the run started, on the clock every event uses. */
  public long now() {
    return System.nanoTime() - t0;
  }

  public HistoryEvent record(int process, String type, String f, String key, Object value,
      String consistency) {
    synchronized (this) {
      // The time is taken under the lock so that the sink's order is the time order.
      HistoryEvent e = new HistoryEvent(process, type, f, key, value, now(), consistency);
      events.add(e);
      if (sink != null) {
        try {
          sink.write(e);
        } catch (IOException ex) {
          throw new UncheckedIOException(ex);
        }
      }
      return e;
    }
  }

  /** A copy of every event so far, in time order. */
  public synchronized List<HistoryEvent> events() {
    return List.copyOf(events);
  }

  public synchronized void flush() throws IOException {
    if (sink != null) {
      sink.flush();
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (sink != null) {
      sink.close();
    }
  }
}
