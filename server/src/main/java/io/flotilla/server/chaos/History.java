package io.flotilla.server.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The record of every client operation of a run: appended by many threads, written to a JSONL
 * file as it happens (so a run cut short still leaves its history) and kept in memory for the
 * checks. Times come from {@link System#nanoTime()} relative to the run's start: one monotonic
 * clock for all processes.
 */
public final class History implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final long t0;
  private final BufferedWriter out;
  private final List<HistoryEvent> events = new ArrayList<>();
  private final AtomicInteger processes = new AtomicInteger();

  /** @param file where to write, or null to keep the history in memory only */
  public History(Path file, long t0) throws IOException {
    this.t0 = t0;
    this.out = file == null ? null : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
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
      // The time is taken under the lock so that the file's order is the time order.
      HistoryEvent e = new HistoryEvent(process, type, f, key, value, now(), consistency);
      events.add(e);
      if (out != null) {
        try {
          out.write(JSON.writeValueAsString(e));
          out.write('\n');
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
    if (out != null) {
      out.flush();
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (out != null) {
      out.close();
    }
  }
}
