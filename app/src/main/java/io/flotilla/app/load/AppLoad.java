package io.flotilla.app.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Simulated people booking seats through the booking site's HTTP API (of one or several app
 * instances), then the check: no seat booked twice, every confirmed booking present, and the
 * seats booked equal to the seats confirmed. A person whose booking got no definite answer
 * ({@code 503 retrying}, a dropped connection) asks again with the same booking id until it gets
 * one, as the page does, so at the end every booking is either confirmed or refused: nothing is
 * left in doubt, and the counts must match exactly.
 *
 * <p>The run books only events it creates itself (named {@code app-load RUN #k}), so other
 * people using the site meanwhile do not disturb the check. People prefer the front rows, so
 * they collide on seats and the store's refusals are exercised too.
 */
public final class AppLoad {
  /** What to run. {@code retryGrace}: how long after the end a person may still resolve a booking in doubt. */
  public record Settings(List<URI> apps, int people, Duration duration, Duration think,
      long seed, Duration retryGrace) {}

  /** The counts and the verdict. {@code problems} is empty exactly when the check holds. */
  public record Result(long confirmed, long seatsConfirmed, long seatsBooked, long refused,
      long retries, long replays, long unresolved, int events, double seconds, List<String> problems) {
    public boolean ok() {
      return problems.isEmpty();
    }
  }

  private record Confirmation(String bookingId, String eventId, List<String> seats, String person) {}

  private final Settings s;
  private final PrintStream out;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
      .version(HttpClient.Version.HTTP_1_1).build();
  private final ObjectMapper json = new ObjectMapper();
  private final String run;
  private final Map<String, Confirmation> confirmed = new ConcurrentHashMap<>();
  private final List<String> events = new ArrayList<>(); // guarded by this
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  /** Bookings confirmed as already there: an earlier attempt was applied and its answer lost. */
  private final AtomicLong replays = new AtomicLong();
  private final AtomicLong unresolved = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private static final int ROWS = 10;
  private static final int SEATS_PER_ROW = 20;

  public AppLoad(Settings s, PrintStream out) {
    this.s = s;
    this.out = out;
    this.run = Long.toHexString(new SplittableRandom(s.seed()).nextLong() & 0xffffffffL);
  }

  /** Bookings confirmed so far (any thread). */
  public long confirmedSoFar() {
    return confirmed.size();
  }

  public Result run() throws InterruptedException {
    long t0 = System.nanoTime();
    long end = t0 + s.duration().toNanos();
    say("%d people booking through %s for %ds (run %s)", s.people(), s.apps(), s.duration().toSeconds(), run);
    newEvent(null);
    List<Thread> people = new ArrayList<>();
    for (int i = 0; i < s.people(); i++) {
      int id = i;
      Thread t = new Thread(() -> person(id, end), "app-load-person-" + i);
      t.setDaemon(true);
      t.start();
      people.add(t);
    }
    long nextReport = t0 + 5_000_000_000L;
    while (people.stream().anyMatch(Thread::isAlive)) {
      for (Thread t : people) {
        t.join(200);
      }
      if (System.nanoTime() > nextReport) {
        nextReport += 5_000_000_000L;
        say("%d bookings confirmed, %d refused (seats taken), %d retries", confirmed.size(), refused.get(), retries.get());
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    return check(seconds);
  }

  // ------------------------------------------------------------------------------ one person

  private void person(int id, long end) {
    SplittableRandom rnd = new SplittableRandom(s.seed() * 1_000_003L + id);
    String name = "Person " + run + "-" + id;
    int app = id % s.apps().size();
    int bookingNo = 0;
    while (System.nanoTime() < end) {
      String event = currentEvent();
      JsonNode taken = get(app, "/api/events/" + event + "/seats", end);
      if (taken == null) {
        app = (app + 1) % s.apps().size();
        continue;
      }
      List<String> free = new ArrayList<>();
      for (int r = 0; r < ROWS; r++) {
        for (int n = 1; n <= SEATS_PER_ROW; n++) {
          String seat = (char) ('A' + r) + Integer.toString(n);
          if (!taken.path("taken").has(seat)) {
            free.add(seat);
          }
        }
      }
      int want = 1 + rnd.nextInt(4);
      if (free.size() < want + 4) {
        newEvent(event);
        continue;
      }
      // Front rows first: the first 12 free seats are where everybody looks.
      List<String> seats = new ArrayList<>();
      while (seats.size() < want) {
        String seat = free.get(rnd.nextInt(Math.min(free.size(), 12)));
        if (!seats.contains(seat)) {
          seats.add(seat);
        }
      }
      String bookingId = "L" + run + "-" + id + "-" + (++bookingNo);
      app = book(app, bookingId, event, name, seats);
      pause(rnd.nextLong(s.think().toMillis() + 1));
    }
  }

  /** Asks until a definite answer (or the grace after the end passes); returns the app to use next. */
  private int book(int app, String bookingId, String event, String person, List<String> seats) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("bookingId", bookingId);
    body.put("eventId", event);
    body.put("person", person);
    body.put("seats", seats);
    long giveUp = System.nanoTime() + s.duration().toNanos() + s.retryGrace().toNanos();
    for (int attempt = 0; ; attempt++) {
      HttpResponse<String> r = post(app, "/api/bookings", body);
      if (r != null && r.statusCode() == 200) {
        if (parse(r.body()).path("replay").asBoolean()) {
          replays.incrementAndGet();
        }
        confirmed.put(bookingId, new Confirmation(bookingId, event, seats.stream().sorted().toList(), person));
        return app;
      }
      if (r != null && r.statusCode() == 409) {
        refused.incrementAndGet();
        return app;
      }
      if (r != null && r.statusCode() != 503) {
        throw new IllegalStateException("booking " + bookingId + ": HTTP " + r.statusCode() + " " + r.body());
      }
      retries.incrementAndGet();
      if (r == null) {
        app = (app + 1) % s.apps().size(); // that instance is gone: try another one
      }
      if (System.nanoTime() > giveUp) {
        unresolved.incrementAndGet();
        say("booking %s still in doubt after %d attempts; giving up", bookingId, attempt + 1);
        return app;
      }
      pause(Math.min(1000, 100L * (attempt + 1)));
    }
  }

  // ---------------------------------------------------------------------------------- events

  private synchronized String currentEvent() {
    return events.get(events.size() - 1);
  }

  /** Opens a new event unless someone already replaced {@code full}. */
  private synchronized void newEvent(String full) {
    if (full != null && !events.get(events.size() - 1).equals(full)) {
      return;
    }
    String id = "load-" + run + "-" + (events.size() + 1);
    Map<String, Object> e = Map.of("id", id, "name", "app-load " + run + " #" + (events.size() + 1),
        "venue", "Load Hall", "when", "now", "rows", ROWS, "seatsPerRow", SEATS_PER_ROW);
    long giveUp = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    for (int app = 0; System.nanoTime() < giveUp; app = (app + 1) % s.apps().size()) {
      HttpResponse<String> r = post(app, "/api/events", e);
      if (r != null && (r.statusCode() == 201 || r.statusCode() == 409)) {
        events.add(id);
        return;
      }
      pause(300);
    }
    throw new IllegalStateException("could not create event " + id + " in 60 s");
  }

  // ----------------------------------------------------------------------------------- check

  private Result check(double seconds) {
    List<String> problems = new ArrayList<>();
    List<String> runEvents;
    synchronized (this) {
      runEvents = List.copyOf(events);
    }
    Map<String, Map<String, String>> maps = new HashMap<>();
    long booked = 0;
    for (String e : runEvents) {
      JsonNode m = get(0, "/api/events/" + e + "/seats", System.nanoTime() + Duration.ofSeconds(60).toNanos());
      if (m == null) {
        problems.add("could not read the seat map of " + e);
        continue;
      }
      Map<String, String> seatToBooking = new HashMap<>();
      m.path("taken").fields().forEachRemaining(f -> seatToBooking.put(f.getKey(), f.getValue().asText()));
      maps.put(e, seatToBooking);
      booked += seatToBooking.size();
    }
    long seatsConfirmed = 0;
    Map<String, String> holder = new HashMap<>();
    for (Confirmation c : confirmed.values()) {
      seatsConfirmed += c.seats().size();
      for (String seat : c.seats()) {
        String other = holder.put(c.eventId() + "/" + seat, c.bookingId());
        if (other != null) {
          problems.add("seat " + seat + " of " + c.eventId() + " confirmed twice: " + other + " and " + c.bookingId());
        }
        String inStore = maps.getOrDefault(c.eventId(), Map.of()).get(seat);
        if (!c.bookingId().equals(inStore)) {
          problems.add("confirmed booking " + c.bookingId() + " is missing seat " + seat + " (the store says " + inStore + ")");
        }
      }
    }
    for (var e : maps.entrySet()) {
      for (var seat : e.getValue().entrySet()) {
        if (!confirmed.containsKey(seat.getValue())) {
          problems.add("seat " + seat.getKey() + " of " + e.getKey() + " is booked by " + seat.getValue() + ", which nobody was told of");
        }
      }
    }
    if (booked != seatsConfirmed) {
      problems.add("seats booked in the store (" + booked + ") != seats confirmed (" + seatsConfirmed + ")");
    }
    if (unresolved.get() > 0) {
      problems.add(unresolved.get() + " bookings were still in doubt at the end");
    }
    // Every confirmation is a booking record the API returns as confirmed: read back by as many
    // readers as there were people, spread over the app instances.
    List<Confirmation> all = List.copyOf(confirmed.values());
    List<String> unread = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
    List<Thread> readers = new ArrayList<>();
    for (int i = 0; i < Math.max(1, s.people()); i++) {
      int app = i % s.apps().size();
      Thread t = new Thread(() -> {
        for (int k = next.getAndIncrement(); k < all.size(); k = next.getAndIncrement()) {
          Confirmation c = all.get(k);
          JsonNode b = get(app, "/api/events/" + c.eventId() + "/bookings/" + c.bookingId(), System.nanoTime() + Duration.ofSeconds(30).toNanos());
          if (b == null || !c.eventId().equals(b.path("eventId").asText()) || !c.person().equals(b.path("person").asText())) {
            unread.add("booking " + c.bookingId() + " does not read back as confirmed: " + b);
          }
        }
      }, "app-load-check-" + i);
      t.start();
      readers.add(t);
    }
    for (Thread t : readers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        problems.add("interrupted while reading bookings back");
        break;
      }
    }
    problems.addAll(unread);
    Result r = new Result(confirmed.size(), seatsConfirmed, booked, refused.get(), retries.get(),
        replays.get(), unresolved.get(), runEvents.size(), seconds, List.copyOf(problems.subList(0, Math.min(20, problems.size()))));
    say("bookings confirmed: %d (%d seats); seats booked in the store: %d; refused (seats taken): %d;"
        + " retries: %d (confirmed on a retry as already booked: %d); in doubt: %d; events: %d;"
        + " %.1f bookings/s over %.1fs", r.confirmed(),
        r.seatsConfirmed(), r.seatsBooked(), r.refused(), r.retries(), r.replays(), r.unresolved(), r.events(),
        r.confirmed() / seconds, seconds);
    if (r.ok()) {
      say("check OK: no seat booked twice, every confirmed booking present, seats booked == seats confirmed");
    } else {
      say("check FAILED (%d problems):", problems.size());
      r.problems().forEach(p -> say("  %s", p));
    }
    return r;
  }

  // ----------------------------------------------------------------------------------- HTTP

  /** GET until 200 (or a 4xx, which fails), moving between apps; null once {@code until} passes. */
  private JsonNode get(int app, String path, long until) {
    for (int attempt = 0; ; attempt++) {
      HttpResponse<String> r = send(app, HttpRequest.newBuilder().GET(), path);
      if (r != null && r.statusCode() == 200) {
        return parse(r.body());
      }
      if (r != null && r.statusCode() >= 400 && r.statusCode() < 500) {
        return null;
      }
      if (System.nanoTime() > until) {
        return null;
      }
      retries.incrementAndGet();
      app = (app + 1) % s.apps().size();
      pause(Math.min(1000, 100L * (attempt + 1)));
    }
  }

  private HttpResponse<String> post(int app, String path, Object body) {
    try {
      return send(app, HttpRequest.newBuilder().header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(body))), path);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One request; null when the app did not answer (down, or no answer within 15 s). */
  private HttpResponse<String> send(int app, HttpRequest.Builder b, String path) {
    requests.incrementAndGet();
    try {
      return http.send(b.uri(s.apps().get(app).resolve(path)).timeout(Duration.ofSeconds(15)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private JsonNode parse(String body) {
    try {
      return json.readTree(body);
    } catch (IOException e) {
      throw new IllegalStateException("not JSON: " + body, e);
    }
  }

  private void say(String fmt, Object... args) {
    synchronized (out) {
      out.printf("[app-load] %s%n", String.format(fmt, args));
      out.flush();
    }
  }

  /** Think time and retry backoff: pacing, not waiting for a condition. */
  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
