package io.flotilla.app;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live seat maps as server-sent events. For each event somebody watches, one poll reads the
 * taken seats from the store every {@code pollMillis} and pushes the map to the watchers when it
 * changed: a booking made through any app instance shows within a poll. When the store gives no
 * answer (a failover) the watchers get {@code status: retrying} and keep the last map they had,
 * which was true when read and is only ever extended (seats are never freed); they never get a
 * map the store did not give.
 *
 * <p>Wire format, one SSE message each: {@code event: seats} with {@code {"eventId", "taken":
 * {SEAT: BOOKING}}}, and {@code event: status} with {@code {"state": "live"|"retrying",
 * "message"}}. A comment line every 15 s keeps proxies from closing an idle stream.
 *
 * <p>Threads: one scheduler thread polls and writes. A watcher whose socket does not take the
 * write is dropped (its browser reconnects by itself, as EventSource does).
 */
final class SeatFeeds implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SeatFeeds.class);
  private static final long KEEPALIVE_MILLIS = 15_000;

  private final Function<String, Map<String, String>> readTaken;
  private final long pollMillis;
  private final ObjectMapper json = new ObjectMapper();
  private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "app-seat-feeds");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, Feed> feeds = new ConcurrentHashMap<>();

  /** One watched event: its watchers and what they were last told. Guarded by itself. */
  private static final class Feed {
    final List<OutputStream> watchers = new ArrayList<>();
    Map<String, String> lastTaken;
    String lastState;
    long lastWrite = System.nanoTime();
  }

  SeatFeeds(Function<String, Map<String, String>> readTaken, long pollMillis) {
    this.readTaken = readTaken;
    this.pollMillis = pollMillis;
    poller.scheduleWithFixedDelay(this::pollAll, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
  }

  /** Adds a watcher (an open SSE response body) of {@code eventId} and polls for it at once. */
  void watch(String eventId, OutputStream out) {
    Feed f = feeds.computeIfAbsent(eventId, id -> new Feed());
    synchronized (f) {
      f.watchers.add(out);
      if (f.lastTaken != null) {
        if (!send(out, "seats", seatsMessage(eventId, f.lastTaken))) {
          f.watchers.remove(out);
        }
      }
    }
    refresh(eventId);
  }

  /** Polls {@code eventId} now (after a booking through this instance). */
  void refresh(String eventId) {
    try {
      poller.execute(() -> poll(eventId));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closing
    }
  }

  int watchers() {
    return feeds.values().stream().mapToInt(f -> {
      synchronized (f) {
        return f.watchers.size();
      }
    }).sum();
  }

  private void pollAll() {
    for (String id : List.copyOf(feeds.keySet())) {
      poll(id);
    }
  }

  private void poll(String eventId) {
    Feed f = feeds.get(eventId);
    if (f == null) {
      return;
    }
    synchronized (f) {
      if (f.watchers.isEmpty()) {
        feeds.remove(eventId, f);
        return;
      }
    }
    Map<String, String> taken = null;
    String problem = null;
    try {
      taken = readTaken.apply(eventId);
    } catch (RuntimeException e) {
      problem = e.getMessage();
    }
    synchronized (f) {
      if (taken != null) {
        if (!"live".equals(f.lastState)) {
          broadcast(f, "status", Map.of("state", "live"));
          f.lastState = "live";
        }
        if (!taken.equals(f.lastTaken)) {
          f.lastTaken = taken;
          broadcast(f, "seats", seatsMessage(eventId, taken));
        }
      } else if (!"retrying".equals(f.lastState)) {
        LOG.info("seat map of {}: retrying ({})", eventId, problem);
        broadcast(f, "status", Map.of("state", "retrying", "message", String.valueOf(problem)));
        f.lastState = "retrying";
      }
      if (System.nanoTime() - f.lastWrite > TimeUnit.MILLISECONDS.toNanos(KEEPALIVE_MILLIS)) {
        f.watchers.removeIf(w -> !write(w, ": keepalive\n\n"));
        f.lastWrite = System.nanoTime();
      }
    }
  }

  private static Map<String, Object> seatsMessage(String eventId, Map<String, String> taken) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("eventId", eventId);
    m.put("taken", taken);
    return m;
  }

  private void broadcast(Feed f, String event, Object data) {
    f.watchers.removeIf(w -> !send(w, event, data));
    f.lastWrite = System.nanoTime();
  }

  private boolean send(OutputStream out, String event, Object data) {
    try {
      return write(out, "event: " + event + "\ndata: " + json.writeValueAsString(data) + "\n\n");
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean write(OutputStream out, String text) {
    try {
      out.write(text.getBytes(UTF_8));
      out.flush();
      return true;
    } catch (IOException e) {
      try {
        out.close();
      } catch (IOException ignored) {
        // the connection is gone either way
      }
      return false;
    }
  }

  long pollMillis() {
    return pollMillis;
  }

  @Override
  public void close() {
    poller.shutdownNow();
    for (Feed f : feeds.values()) {
      synchronized (f) {
        for (OutputStream w : f.watchers) {
          try {
            w.close();
          } catch (IOException ignored) {
            // closing anyway
          }
        }
        f.watchers.clear();
      }
    }
  }
}
