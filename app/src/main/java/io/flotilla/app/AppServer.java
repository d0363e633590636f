package io.flotilla.app;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The booking site: its pages (static files from the jar) and its JSON API (docs/app.md) on the
 * JDK's own HTTP server. Holds no state of its own: every answer is read from, and every booking
 * written to, the Flotilla cluster, so any number of instances can serve the same site.
 *
 * <p>When the store gives no definite answer in time (an election, a node killed), the API
 * answers {@code 503 {"error": "retrying"}} with {@code Retry-After: 1}: the page shows
 * "retrying" and asks again with the same booking id, which can never book twice.
 */
public final class AppServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AppServer.class);
  private static final int MAX_BODY_BYTES = 16 * 1024;
  private static final String WEB = "/io/flotilla/app/web/";
  private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8",
      "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8",
      "svg", "image/svg+xml");

  /** The events a fresh site starts with (created by whichever instance comes first). */
  static final List<Bookings.Event> SEED_EVENTS = List.of(
      new Bookings.Event("raft-night", "Raft Night at the Opera", "Quorum Hall", "Fri 20:00", 8, 14),
      new Bookings.Event("log-replay", "The Log Replayed: a Recital", "Snapshot Theatre", "Sat 19:30", 6, 12),
      new Bookings.Event("leaderless", "Leaderless (an Election in Three Acts)", "Term Street Stage",
          "Sun 18:00", 5, 10));

  private final FlotillaClient client;
  private final Bookings bookings;
  private final SeatFeeds feeds;
  private final HttpServer http;
  private final ExecutorService executor;
  private final ObjectMapper json = new ObjectMapper();
  private final SecureRandom random = new SecureRandom();

  /**
   * Settings of one instance: the cluster, where to listen, how it talks to the store ({@code tls}:
   * to a cluster running TLS, docs/security.md; null: plain text).
   */
  public record Options(String endpoints, InetSocketAddress listen, Duration storeTimeout,
      long feedPollMillis, boolean seedEvents, int threads, io.flotilla.client.tls.ClientTls tls) {
    public static Options of(String endpoints, InetSocketAddress listen) {
      return new Options(endpoints, listen, Duration.ofSeconds(3), 300, true, 64, null);
    }

    /** With the defaults, listening at {@code HOST:PORT}. */
    public static Options of(String endpoints, String listen) {
      io.flotilla.client.Endpoint at = io.flotilla.client.Endpoint.parse(listen);
      return of(endpoints, new InetSocketAddress(at.host(), at.port()));
    }

    public Options withStoreTimeout(Duration d) {
      return new Options(endpoints, listen, d, feedPollMillis, seedEvents, threads, tls);
    }

    public Options withSeedEvents(boolean on) {
      return new Options(endpoints, listen, storeTimeout, feedPollMillis, on, threads, tls);
    }

    /** The store over TLS with {@code t} (null: plain text). */
    public Options withTls(io.flotilla.client.tls.ClientTls t) {
      return new Options(endpoints, listen, storeTimeout, feedPollMillis, seedEvents, threads, t);
    }
  }

  private AppServer(Options o) throws IOException {
    // A short deadline per store call: during a failover the page hears "retrying" within
    // seconds (and asks again) instead of hanging on one request.
    this.client = new FlotillaClient(ClientOptions.of(o.endpoints()).withRequestTimeout(o.storeTimeout())
        .withAttemptTimeout(Duration.ofMillis(Math.min(1000, o.storeTimeout().toMillis()))).withTls(o.tls()));
    this.bookings = new Bookings(client);
    this.feeds = new SeatFeeds(bookings::takenSeats, o.feedPollMillis());
    this.executor = Executors.newFixedThreadPool(o.threads(), r -> {
      Thread t = new Thread(r, "app-http");
      t.setDaemon(true);
      return t;
    });
    this.http = HttpServer.create(o.listen(), 128);
    http.setExecutor(executor);
    http.createContext("/", this::route);
  }

  /** Starts serving; seeds the sample events in the background when asked to (and retries). */
  public static AppServer start(Options o) throws IOException {
    AppServer s = new AppServer(o);
    s.http.start();
    if (o.seedEvents()) {
      s.executor.execute(s::seed);
    }
    return s;
  }

  public InetSocketAddress address() {
    return http.getAddress();
  }

  public String url() {
    return "http://" + address().getHostString() + ":" + address().getPort();
  }

  private void seed() {
    for (int attempt = 0; attempt < 60; attempt++) {
      try {
        for (Bookings.Event e : SEED_EVENTS) {
          bookings.createEvent(e);
        }
        return;
      } catch (FlotillaException e) {
        LOG.info("seeding the sample events: {} (retrying)", e.getMessage());
        try {
          Thread.sleep(1000); // the cluster is electing; try again, at most a minute
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------ routes

  private void route(HttpExchange x) throws IOException {
    try {
      String path = x.getRequestURI().getPath();
      String method = x.getRequestMethod();
      List<String> p = segments(path);
      if (!path.startsWith("/api/")) {
        staticFile(x, path);
      } else if (method.equals("GET") && p.equals(List.of("api", "health"))) {
        reply(x, 200, Map.of("ok", true, "feedWatchers", feeds.watchers()));
      } else if (p.size() == 2 && p.get(1).equals("events")) {
        if (method.equals("GET")) {
          listEvents(x);
        } else if (method.equals("POST")) {
          createEvent(x);
        } else {
          reply(x, 405, error("method", "GET or POST"));
        }
      } else if (method.equals("GET") && p.size() == 3 && p.get(1).equals("events")) {
        eventWithSeats(x, p.get(2));
      } else if (method.equals("GET") && p.size() == 4 && p.get(1).equals("events") && p.get(3).equals("seats")) {
        reply(x, 200, seats(p.get(2)));
      } else if (method.equals("GET") && p.size() == 4 && p.get(1).equals("events") && p.get(3).equals("stream")) {
        stream(x, p.get(2));
        return; // the stream stays open; SeatFeeds writes and closes it
      } else if (method.equals("POST") && p.equals(List.of("api", "bookings"))) {
        book(x);
      } else if (method.equals("GET") && p.size() == 5 && p.get(1).equals("events") && p.get(3).equals("bookings")) {
        var b = bookings.booking(p.get(2), p.get(4));
        if (b.isPresent()) {
          reply(x, 200, b.get());
        } else {
          reply(x, 404, error("not_found", "no booking " + p.get(4) + " of event " + p.get(2)));
        }
      } else if (method.equals("GET") && p.size() == 3 && p.get(1).equals("bookings")) {
        var b = bookings.booking(p.get(2));
        if (b.isPresent()) {
          reply(x, 200, b.get());
        } else {
          reply(x, 404, error("not_found", "no booking " + p.get(2)));
        }
      } else if (method.equals("GET") && p.size() == 4 && p.get(1).equals("people") && p.get(3).equals("bookings")) {
        reply(x, 200, Map.of("person", p.get(2), "bookings", bookings.bookingsOf(p.get(2))));
      } else {
        reply(x, 404, error("not_found", "no such API: " + method + " " + path + " (see docs/app.md)"));
      }
    } catch (Bookings.InvalidRequest e) {
      reply(x, 400, error("invalid", e.getMessage()));
    } catch (FlotillaException e) {
      if (Bookings.crossRange(e)) {
        // One event's keys were split into two ranges (docs/app.md, "Keys and ranges"): the
        // transaction was refused whole, so nothing was booked; asking again cannot help.
        LOG.error("CROSS_RANGE on {}: a range split cut one event's keys apart; its bookings are"
            + " refused until the ranges are merged or the split undone", x.getRequestURI(), e);
        reply(x, 500, error("cross_range", "nothing was booked: this event's keys are in two ranges of the"
            + " store, which refuses a booking over both (" + e.getMessage() + "). An operator must keep"
            + " the prefix app/ev/EVENT/ in one range (docs/app.md)."));
      } else if (retryable(e)) {
        x.getResponseHeaders().set("Retry-After", "1");
        reply(x, 503, error("retrying", "the store did not answer in time (" + e.code()
            + "); ask again with the same booking id"));
      } else {
        LOG.warn("store error on {}", x.getRequestURI(), e);
        reply(x, 500, error("store", e.getMessage()));
      }
    } catch (RuntimeException e) {
      LOG.warn("request {} failed", x.getRequestURI(), e);
      reply(x, 500, error("internal", String.valueOf(e)));
    }
  }

  /** A failover or a slow cluster: the same request, asked again, will get a definite answer. */
  static boolean retryable(FlotillaException e) {
    return e.outcomeUnknown() || switch (e.code()) {
      case UNAVAILABLE, TIMEOUT, NODE_UNAVAILABLE, NOT_LEADER -> true;
      default -> false;
    };
  }

  private void listEvents(HttpExchange x) throws IOException {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Bookings.Event e : bookings.events()) {
      Map<String, Object> m = eventJson(e);
      m.put("available", e.capacity() - bookings.takenSeats(e.id()).size());
      out.add(m);
    }
    reply(x, 200, Map.of("events", out));
  }

  private void createEvent(HttpExchange x) throws IOException {
    JsonNode b = body(x);
    String id = b.path("id").asText("");
    if (id.isEmpty()) {
      id = "e-" + randomId();
    }
    Bookings.Event e = new Bookings.Event(id, b.path("name").asText(""), b.path("venue").asText(""),
        b.path("when").asText(""), b.path("rows").asInt(0), b.path("seatsPerRow").asInt(0));
    boolean created = bookings.createEvent(e);
    reply(x, created ? 201 : 409, created ? eventJson(e)
        : error("exists", "an event with id " + id + " exists"));
  }

  private void eventWithSeats(HttpExchange x, String id) throws IOException {
    var e = bookings.event(id);
    if (e.isEmpty()) {
      reply(x, 404, error("not_found", "no event " + id));
      return;
    }
    Map<String, Object> m = eventJson(e.get());
    m.put("taken", bookings.takenSeats(id));
    reply(x, 200, m);
  }

  private Map<String, Object> seats(String id) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("eventId", id);
    m.put("taken", bookings.takenSeats(id));
    return m;
  }

  private static Map<String, Object> eventJson(Bookings.Event e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", e.id());
    m.put("name", e.name());
    m.put("venue", e.venue());
    m.put("when", e.when());
    m.put("rows", e.rows());
    m.put("seatsPerRow", e.seatsPerRow());
    m.put("capacity", e.capacity());
    return m;
  }

  private void book(HttpExchange x) throws IOException {
    JsonNode b = body(x);
    String id = b.path("bookingId").asText("");
    if (id.isEmpty()) {
      id = "b-" + randomId();
    }
    List<String> seats = new ArrayList<>();
    b.path("seats").forEach(s -> seats.add(s.asText()));
    String eventId = b.path("eventId").asText("");
    Bookings.Outcome o = bookings.book(id, eventId, b.path("person").asText(""), seats,
        System.currentTimeMillis());
    if (o.booked() != null) {
      feeds.refresh(eventId);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("booking", o.booked());
      m.put("replay", o.replay());
      reply(x, 200, m);
    } else if (o.refused() != null) {
      reply(x, 409, error("booking_id_reused", o.refused()));
    } else {
      feeds.refresh(eventId);
      Map<String, Object> m = error("seats_taken", "taken meanwhile: " + String.join(", ", o.taken()));
      m.put("taken", o.taken());
      reply(x, 409, m);
    }
  }

  private void stream(HttpExchange x, String eventId) throws IOException {
    Bookings.checkId(eventId, "event id");
    x.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    x.getResponseHeaders().set("Cache-Control", "no-cache");
    x.sendResponseHeaders(200, 0);
    var out = x.getResponseBody();
    // Before the first poll answers: how often to reconnect (ms) if the stream drops.
    out.write("retry: 1000\n\n".getBytes(UTF_8));
    out.flush();
    feeds.watch(eventId, out);
  }

  // ---------------------------------------------------------------------------------- plumbing

  private void staticFile(HttpExchange x, String path) throws IOException {
    if (!x.getRequestMethod().equals("GET") && !x.getRequestMethod().equals("HEAD")) {
      reply(x, 405, error("method", "GET only"));
      return;
    }
    String name = path.equals("/") ? "index.html" : path.substring(1);
    if (name.equals("favicon.ico")) {
      name = "favicon.svg";
    }
    String ext = name.substring(name.lastIndexOf('.') + 1);
    if (name.contains("/") || name.contains("..") || !TYPES.containsKey(ext)) {
      reply(x, 404, error("not_found", path));
      return;
    }
    try (InputStream in = AppServer.class.getResourceAsStream(WEB + name)) {
      if (in == null) {
        reply(x, 404, error("not_found", path));
        return;
      }
      byte[] body = in.readAllBytes();
      x.getResponseHeaders().set("Content-Type", TYPES.get(ext));
      x.getResponseHeaders().set("Cache-Control", "no-cache");
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
    }
    x.close();
  }

  private JsonNode body(HttpExchange x) throws IOException {
    byte[] b = x.getRequestBody().readNBytes(MAX_BODY_BYTES + 1);
    if (b.length > MAX_BODY_BYTES) {
      throw new Bookings.InvalidRequest("body over " + MAX_BODY_BYTES + " bytes");
    }
    try {
      JsonNode n = json.readTree(b);
      if (n == null || !n.isObject()) {
        throw new Bookings.InvalidRequest("body: a JSON object");
      }
      return n;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new Bookings.InvalidRequest("body is not JSON: " + e.getOriginalMessage());
    }
  }

  private void reply(HttpExchange x, int status, Object body) throws IOException {
    byte[] b = json.writeValueAsBytes(body);
    x.getResponseHeaders().set("Content-Type", "application/json");
    x.getResponseHeaders().set("Cache-Control", "no-store");
    x.sendResponseHeaders(status, b.length);
    x.getResponseBody().write(b);
    x.close();
  }

  private static Map<String, Object> error(String code, String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("error", code);
    m.put("message", message);
    return m;
  }

  private static List<String> segments(String path) {
    List<String> out = new ArrayList<>();
    for (String s : path.split("/")) {
      if (!s.isEmpty()) {
        out.add(URLDecoder.decode(s, UTF_8));
      }
    }
    return out;
  }

  private String randomId() {
    byte[] b = new byte[8];
    random.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** For tests and the CLI: the URL of a page or API path on this instance. */
  public URI uri(String path) {
    return URI.create(url() + path);
  }

  @Override
  public void close() {
    http.stop(0);
    feeds.close();
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    client.close();
  }
}
