package io.flotilla.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The dashboard's routes on a real admin port, without a cluster: files, JSON, and the control gate. */
class DashboardTest {
  private PrometheusMeterRegistry registry;
  private EventRing events;
  private Dashboard dashboard;
  private AdminServer admin;
  private int deadPeerPort;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    events = new EventRing(1, 10);
    try (ServerSocket s = new ServerSocket(0)) {
      deadPeerPort = s.getLocalPort(); // nothing listens on it, nor on the admin port after it
    }
    List<Map<String, Object>> members = List.of(
        Map.of("id", 1, "peer", "127.0.0.1:1", "client", "127.0.0.1:2", "role", "voter"),
        Map.of("id", 2, "peer", "127.0.0.1:" + deadPeerPort, "client", "127.0.0.1:3", "role", "voter"),
        Map.of("id", 3, "peer", "127.0.0.1:" + deadPeerPort, "client", "127.0.0.1:4", "role", "learner"));
    dashboard = new Dashboard(1, registry, events, () -> CompletableFuture.completedFuture(
        Map.of("nodeId", 1, "role", "LEADER", "term", 3, "leader", 1, "members", members,
            "ranges", List.of(range(1, "", "", 1, "LEADER", 3, 1, 7)))), () -> true,
        () -> "voters=[1, 2] learners=[3]");
    admin = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), new AdminServer.Sources(() -> true,
        () -> CompletableFuture.completedFuture(Map.of()), registry, null, dashboard));
    dashboard.setAdminAddress("127.0.0.1:" + admin.localAddress().getPort());
  }

  @AfterEach
  void stop() {
    admin.close();
    dashboard.close();
  }

  @Test
  void servesThePageAndTheVendoredChartLibrary() throws Exception {
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
    assertThat(page.body()).contains("<title>Flotilla cluster</title>").contains("dashboard/vendor/uPlot.iife.min.js");
    HttpResponse<String> lib = get("/dashboard/vendor/uPlot.iife.min.js");
    assertThat(lib.statusCode()).as("uPlot is copied into the jar at build time").isEqualTo(200);
    assertThat(lib.body()).contains("uPlot");
    assertThat(get("/dashboard/vendor/LICENSE").statusCode()).isEqualTo(404); // only known file types
    assertThat(get("/dashboard/../logback.xml").statusCode()).isEqualTo(404);
    assertThat(get("/dashboard/dashboard.js").statusCode()).isEqualTo(200);
  }

  @Test
  void overviewAndEventsAreJson() throws Exception {
    events.record(EventRing.LEADER, "became leader in term 3");
    HttpResponse<String> o = get("/overview");
    assertThat(o.statusCode()).isEqualTo(200);
    assertThat(o.body()).contains("\"nodeId\":1").contains("\"role\":\"LEADER\"").contains("\"samples\":[")
        .contains("became leader in term 3").contains("\"localControl\":false");
    assertThat(get("/events?since=0").body()).contains("\"kind\":\"leader\"");
    assertThat(get("/events?since=1").body()).doesNotContain("became leader");
    assertThat(get("/overview?samples=x").statusCode()).isEqualTo(400);
  }

  @Test
  void clusterShowsEveryMemberAndTheOnesThatDoNotAnswer() throws Exception {
    HttpResponse<String> c = get("/cluster");
    assertThat(c.statusCode()).isEqualTo(200);
    assertThat(c.body()).contains("\"servedBy\":1").contains("\"leader\":1").contains("\"leaderLost\":false")
        .contains("\"id\":2,\"admin\":\"127.0.0.1:" + (deadPeerPort + 1) + "\"")
        .contains("\"reachable\":false").contains("\"voters\":[1,2]").contains("\"learners\":[3]");
  }

  @Test
  void rangesAreMergedFromEveryMemberNewestDescriptorFirst() {
    // Node 1 has not applied the split at "m" yet; nodes 2 and 3 have. Node 3 leads range 1,
    // node 2 leads range 2 and still names node 1 as range 1's leader (an old hint).
    List<Map<String, Object>> nodes = List.of(
        nodeWith(1, range(1, "", "", 1, "LEADER", 2, 1, 9)),
        nodeWith(2, range(1, "", "m", 2, "FOLLOWER", 3, 1, 10), range(2, "m", "", 1, "LEADER", 1, 2, 3)),
        nodeWith(3, range(1, "", "m", 2, "LEADER", 3, 3, 11), range(2, "m", "", 1, "FOLLOWER", 1, 2, 2)),
        Map.of("id", 4L, "reachable", false));
    List<Map<String, Object>> ranges = ClusterView.ranges(nodes);
    assertThat(ranges).extracting(r -> r.get("id")).containsExactly(1L, 2L);
    Map<String, Object> first = ranges.get(0);
    assertThat(first).containsEntry("end", "m").containsEntry("epochVersion", 2L).containsEntry("leader", 3L)
        .containsEntry("term", 3L);
    assertThat((List<?>) first.get("replicas")).hasSize(3);
    assertThat(ranges.get(1)).containsEntry("start", "m").containsEntry("leader", 2L);
    assertThat((List<?>) ranges.get(1).get("replicas")).hasSize(2);
  }

  private static Map<String, Object> range(long id, String start, String end, long epoch, String role,
      long term, long leader, long applied) {
    Map<String, Object> r = new java.util.LinkedHashMap<>();
    r.put("id", id);
    r.put("start", start);
    r.put("end", end);
    r.put("epochVersion", epoch);
    r.put("role", role);
    r.put("term", term);
    r.put("leader", leader);
    r.put("commit", applied);
    r.put("applied", applied);
    r.put("quiesced", false);
    r.put("voters", List.of(1, 2));
    r.put("learners", List.of(3));
    return r;
  }

  private static Map<String, Object> nodeWith(long id, Object... ranges) {
    return Map.of("id", id, "reachable", true,
        "overview", Map.of("status", Map.of("role", "FOLLOWER", "ranges", List.of(ranges))));
  }

  @Test
  void saysWhenTheServingNodeHasLostTheLeader() throws Exception {
    try (Dashboard lost = new Dashboard(2, registry, new EventRing(2, 4), () -> CompletableFuture.completedFuture(
        Map.of("nodeId", 2, "role", "CANDIDATE", "term", 4, "leader", 0)), () -> true, () -> "voters=[2]")) {
      Map<String, Object> own = lost.overview(0, 0).get(5, TimeUnit.SECONDS);
      assertThat(own.get("status").toString()).contains("CANDIDATE");
      assertThat(lost.serve("GET", "/cluster", Map.of(), null).get(5, TimeUnit.SECONDS).body())
          .asString().contains("\"leaderLost\":true").contains("\"leader\":0");
    }
  }

  @Test
  void killAndRestartOnlyThroughALocalClusterToolAndOnlyWithTheHeader() throws Exception {
    assertThat(post("/control/kill?node=2", true).statusCode()).isEqualTo(403);
    List<String> asked = new CopyOnWriteArrayList<>();
    HttpServer tool = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
    tool.createContext("/secret/", x -> {
      asked.add(x.getRequestMethod() + " " + x.getRequestURI());
      byte[] b = "node 2 killed".getBytes();
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    tool.start();
    try {
      dashboard.enableLocalControl(URI.create("http://127.0.0.1:" + tool.getAddress().getPort() + "/secret"));
      assertThat(post("/control/kill?node=2", false).statusCode()).as("no header: refused").isEqualTo(400);
      assertThat(get("/control/kill?node=2").statusCode()).isEqualTo(400);
      HttpResponse<String> r = post("/control/kill?node=2", true);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("node 2 killed");
      assertThat(asked).containsExactly("POST /secret/kill?node=2");
      assertThat(post("/control/format?node=2", true).statusCode()).isEqualTo(404);
      assertThat(get("/overview").body()).contains("\"localControl\":true");
    } finally {
      tool.stop(0);
    }
  }

  @Test
  void samplesGiveRatesAndPercentilesOfTheLastSecond() {
    Timer t = Timer.builder("flotilla.client.requests").tag("op", "put").publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(50_000)).maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
    StatsSampler s = new StatsSampler(registry);
    t.record(Duration.ofMillis(900)); // before the baseline: not in the next sample
    s.sample();
    for (int i = 0; i < 990; i++) {
      t.record(1, TimeUnit.MILLISECONDS);
    }
    for (int i = 0; i < 10; i++) {
      t.record(200, TimeUnit.MILLISECONDS);
    }
    s.sample();
    StatsSampler.Sample last = s.last(1).get(0);
    assertThat(last.requests()).isPositive();
    assertThat(last.p50()).isBetween(1.0, 1.5);
    assertThat(last.p99()).isBetween(1.0, 1.5);
    assertThat(last.p999()).isBetween(200.0, 300.0);
    s.sample();
    assertThat(s.last(1).get(0).p50()).as("no request in that second").isNaN();
    assertThat(s.last(10)).hasSize(2);
  }

  @Test
  void quantileOfCumulativeBuckets() {
    TreeMap<Double, Double> before = new TreeMap<>(Map.of(1.0, 5.0, 10.0, 5.0, 100.0, 5.0));
    TreeMap<Double, Double> now = new TreeMap<>(Map.of(1.0, 95.0, 10.0, 99.0, 100.0, 105.0));
    assertThat(StatsSampler.quantile(now, before, 100, 0.5)).isEqualTo(1.0);
    assertThat(StatsSampler.quantile(now, before, 100, 0.94)).isEqualTo(10.0);
    assertThat(StatsSampler.quantile(now, before, 100, 0.999)).isEqualTo(100.0);
    assertThat(StatsSampler.quantile(now, before, 0, 0.5)).isNaN();
  }

  @Test
  void theEventRingKeepsTheLastOnes() {
    EventRing r = new EventRing(7, 3);
    for (int i = 1; i <= 5; i++) {
      r.record(EventRing.SNAPSHOT, "s" + i);
    }
    assertThat(r.since(0, 10)).extracting(EventRing.Event::text).containsExactly("s3", "s4", "s5");
    assertThat(r.since(4, 10)).extracting(EventRing.Event::seq).containsExactly(5L);
    assertThat(r.since(0, 1)).extracting(EventRing.Event::text).containsExactly("s5");
    assertThat(r.since(0, 10).get(0).node()).isEqualTo(7);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.localAddress().getPort() + path))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, boolean header) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.localAddress().getPort() + path))
        .POST(HttpRequest.BodyPublishers.noBody());
    if (header) {
      b.header(Dashboard.CONTROL_HEADER, "1");
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
