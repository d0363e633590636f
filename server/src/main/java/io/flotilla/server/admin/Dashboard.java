package io.flotilla.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster dashboard on the admin port: the page itself ({@code GET /}, static files from the
 * jar, the charting library vendored at build time), this node's {@code /overview} (status without
 * the state digest, the last stats samples, recent {@code /events}), the cluster's {@code /cluster}
 * (this node's overview and every other member's, fetched through their admin ports) and, on a
 * node of a local cluster only, {@code POST /control/kill|restart}.
 *
 * <p>Kill and restart are never a node's own power: a node forwards them to the local-cluster tool
 * that started it ({@code bin/flotilla local} or {@code demo}), which alone holds the processes.
 * Only that tool gives a node the address to forward to ({@link #enableLocalControl}, from the
 * hidden {@code --local-control} option); anywhere else {@code /control} answers 403. The request
 * must carry the header {@code X-Flotilla-Control}, which a page of another origin cannot send
 * without a CORS preflight that this port never approves.
 */
public final class Dashboard implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Dashboard.class);
  static final String FILES = "/io/flotilla/server/admin/dashboard/";
  static final String CONTROL_HEADER = "X-Flotilla-Control";
  private static final Map<String, String> TYPES = Map.of(".html", "text/html; charset=utf-8",
      ".js", "text/javascript; charset=utf-8", ".css", "text/css; charset=utf-8",
      ".svg", "image/svg+xml", ".txt", "text/plain; charset=utf-8");

  /** One answer: status, content type, body. */
  public record Reply(int status, String contentType, byte[] body) {
    static Reply text(int status, String text) {
      return new Reply(status, "text/plain; charset=utf-8", (text + "\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  private final long self;
  private final EventRing events;
  private final StatsSampler stats;
  private final Supplier<CompletableFuture<?>> briefStatus;
  private final BooleanSupplier healthy;
  private final Supplier<String> configuration;
  private String lastConfiguration;
  private final ClusterView cluster;
  private final ObjectMapper json = new ObjectMapper();
  private final ScheduledExecutorService timer;
  private final HttpClient http;
  private volatile URI localControl;
  private volatile String adminAddress = "";

  /**
   * @param briefStatus this node's {@code /status} object without the digest (cheap: polled
   *                    every second by every open dashboard)
   * @param configuration the membership in effect, as text: a change is recorded as an event
   */
  public Dashboard(long self, MeterRegistry registry, EventRing events,
      Supplier<CompletableFuture<?>> briefStatus, BooleanSupplier healthy,
      Supplier<String> configuration) {
    this(self, registry, events, briefStatus, healthy, configuration, null);
  }

  /**
   * @param tls for the other members' admin ports over HTTPS (the cluster CA trusted); null: they
   *            serve plain HTTP
   */
  public Dashboard(long self, MeterRegistry registry, EventRing events,
      Supplier<CompletableFuture<?>> briefStatus, BooleanSupplier healthy,
      Supplier<String> configuration, javax.net.ssl.SSLContext tls) {
    HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500))
        .version(HttpClient.Version.HTTP_1_1);
    if (tls != null) {
      hb.sslContext(tls);
    }
    this.http = hb.build();
    this.self = self;
    this.events = events;
    this.stats = new StatsSampler(registry);
    this.briefStatus = briefStatus;
    this.healthy = healthy;
    this.configuration = configuration;
    this.cluster = new ClusterView(self, http, json, tls != null ? "https" : "http");
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "flotilla-dashboard-" + self);
      t.setDaemon(true);
      return t;
    });
    timer.scheduleAtFixedRate(this::sampleQuietly, 0, 1, TimeUnit.SECONDS);
  }

  public EventRing events() {
    return events;
  }

  /** Where this node's admin port answers, as others should reach it (HOST:PORT). */
  public void setAdminAddress(String hostPort) {
    this.adminAddress = hostPort;
  }

  /**
   * Lets {@code /control} forward kill and restart to the local-cluster tool at {@code tool}
   * (loopback, with that run's secret path). Called only for nodes such a tool started.
   */
  public void enableLocalControl(URI tool) {
    this.localControl = tool;
    LOG.info("dashboard: kill/restart buttons on (this node was started by a local-cluster tool)");
  }

  /** Is {@code path} one of the dashboard's? */
  static boolean handles(String path) {
    return path.equals("/") || path.startsWith("/dashboard/") || path.equals("/overview")
        || path.equals("/cluster") || path.equals("/events") || path.startsWith("/control/");
  }

  /** Answers one request (never blocks: slow parts complete the future later). */
  CompletableFuture<Reply> serve(String method, String path, Map<String, List<String>> params,
      String controlHeader) {
    try {
      if (path.startsWith("/control/")) {
        return control(method, path.substring("/control/".length()), params, controlHeader);
      }
      if (!method.equals("GET")) {
        return CompletableFuture.completedFuture(Reply.text(405, "GET only"));
      }
      return switch (path) {
        case "/" -> CompletableFuture.completedFuture(file("index.html"));
        case "/overview" -> overview(intParam(params, "samples", 10), intParam(params, "events", 30))
            .thenApply(this::jsonReply);
        case "/cluster" -> {
          int n = intParam(params, "samples", 10);
          yield overview(n, 30).thenCompose(own -> cluster.view(own, adminAddress, n, localControl != null))
              .thenApply(this::jsonReply);
        }
        case "/events" -> CompletableFuture.completedFuture(jsonReply(Map.of("node", self,
            "events", events.since(longParam(params, "since", 0), events.capacity()))));
        default -> CompletableFuture.completedFuture(file(path.substring("/dashboard/".length())));
      };
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(Reply.text(400, e.getMessage()));
    }
  }

  /** This node: brief status, health, the last {@code samples} seconds, the last events. */
  CompletableFuture<Map<String, Object>> overview(int samples, int lastEvents) {
    CompletableFuture<?> status;
    try {
      status = briefStatus.get();
    } catch (RuntimeException e) {
      status = CompletableFuture.failedFuture(e);
    }
    return status.handle((s, t) -> {
      Map<String, Object> o = new LinkedHashMap<>();
      o.put("nodeId", self);
      o.put("admin", adminAddress);
      o.put("healthy", healthy.getAsBoolean());
      o.put("status", t == null ? s : Map.of("role", "UNRESPONSIVE", "error", String.valueOf(t)));
      o.put("samples", stats.last(Math.max(0, Math.min(samples, StatsSampler.KEEP))));
      o.put("events", events.since(0, Math.max(0, Math.min(lastEvents, events.capacity()))));
      o.put("localControl", localControl != null);
      return o;
    });
  }

  private CompletableFuture<Reply> control(String method, String action,
      Map<String, List<String>> params, String controlHeader) {
    URI tool = localControl;
    if (tool == null) {
      return CompletableFuture.completedFuture(Reply.text(403, "kill and restart exist only on nodes"
          + " started by bin/flotilla local or demo (a local-cluster tool holds their processes)"));
    }
    if (!method.equals("POST") || controlHeader == null) {
      return CompletableFuture.completedFuture(Reply.text(400, "POST with the header " + CONTROL_HEADER));
    }
    if (!action.equals("kill") && !action.equals("restart")) {
      return CompletableFuture.completedFuture(Reply.text(404, "kill or restart"));
    }
    long node = longParam(params, "node", -1);
    if (node <= 0) {
      return CompletableFuture.completedFuture(Reply.text(400, "node=ID"));
    }
    LOG.warn("dashboard: {} of node {} asked for; forwarding to the local-cluster tool", action, node);
    HttpRequest req = HttpRequest.newBuilder(URI.create(tool + "/" + action + "?node=" + node))
        .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30)).build();
    return http.sendAsync(req, HttpResponse.BodyHandlers.ofString())
        .handle((r, t) -> t != null ? Reply.text(502, "the local-cluster tool did not answer: " + t)
            : Reply.text(r.statusCode(), r.body().strip()));
  }

  private Reply file(String name) {
    String ext = name.contains(".") ? name.substring(name.lastIndexOf('.')) : "";
    if (name.contains("..") || name.startsWith("/") || !TYPES.containsKey(ext)) {
      return Reply.text(404, "not found");
    }
    try (InputStream in = Dashboard.class.getResourceAsStream(FILES + name)) {
      return in == null ? Reply.text(404, "not found: " + name) : new Reply(200, TYPES.get(ext), in.readAllBytes());
    } catch (IOException e) {
      return Reply.text(500, e.toString());
    }
  }

  private Reply jsonReply(Object o) {
    try {
      return new Reply(200, "application/json", json.writeValueAsBytes(o));
    } catch (IOException e) {
      return Reply.text(500, e.toString());
    }
  }

  private static int intParam(Map<String, List<String>> p, String name, int dflt) {
    return (int) longParam(p, name, dflt);
  }

  private static long longParam(Map<String, List<String>> p, String name, long dflt) {
    List<String> v = p.get(name);
    if (v == null || v.isEmpty()) {
      return dflt;
    }
    try {
      return Long.parseLong(v.get(0).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": a number, got '" + v.get(0) + "'");
    }
  }

  private void sampleQuietly() {
    try {
      stats.sample();
      String c = configuration.get();
      if (lastConfiguration != null && !lastConfiguration.equals(c)) {
        events.record(EventRing.MEMBERSHIP, "membership now " + c + " (was " + lastConfiguration + ")");
      }
      lastConfiguration = c;
    } catch (RuntimeException e) {
      LOG.debug("stats sample failed", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
