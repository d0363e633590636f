package io.flotilla.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminServerTest {
  private EventLoopGroup group;
  private AdminServer admin;
  private PrometheusMeterRegistry registry;
  private final AtomicBoolean healthy = new AtomicBoolean(true);
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    group = new NioEventLoopGroup(1);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.counter("flotilla.test.requests").increment(3);
    admin = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), group, group,
        new AdminServer.Sources(healthy::get,
            () -> CompletableFuture.completedFuture(Map.of("nodeId", 1, "role", "LEADER")), registry));
  }

  @AfterEach
  void stop() {
    admin.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private HttpResponse<String> get(String path) throws Exception {
    InetSocketAddress a = admin.localAddress();
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.getPort() + path))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthFollowsTheNode() throws Exception {
    assertThat(get("/health").statusCode()).isEqualTo(200);
    healthy.set(false);
    assertThat(get("/health").statusCode()).isEqualTo(503);
  }

  @Test
  void statusIsJson() throws Exception {
    HttpResponse<String> r = get("/status");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(r.body()).contains("\"nodeId\" : 1").contains("\"role\" : \"LEADER\"");
  }

  @Test
  void metricsArePrometheusText() throws Exception {
    HttpResponse<String> r = get("/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("flotilla_test_requests_total 3.0");
  }

  @Test
  void unknownPathsAndMethodsAreRefused() throws Exception {
    assertThat(get("/nope").statusCode()).isEqualTo(404);
    InetSocketAddress a = admin.localAddress();
    HttpResponse<String> post = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + a.getPort() + "/status"))
        .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
  }

  private HttpResponse<String> post(AdminServer server, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + server.localAddress().getPort() + path)).POST(HttpRequest.BodyPublishers.noBody())
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void faultInjectionIsRefusedUnlessEnabled() throws Exception {
    HttpResponse<String> r = post(admin, "/fault?drop-to=2");
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body()).contains("--enable-fault-injection");
  }

  @Test
  void anEnabledNodeDropsFramesToTheNamedPeersAndHeals() throws Exception {
    java.util.concurrent.atomic.AtomicReference<java.util.Set<Long>> dropping =
        new java.util.concurrent.atomic.AtomicReference<>(java.util.Set.of());
    java.util.List<Long> stalls = new java.util.concurrent.CopyOnWriteArrayList<>();
    AdminServer.FaultControl faults = new AdminServer.FaultControl() {
      @Override
      public void dropFramesTo(java.util.Set<Long> peers) {
        dropping.set(peers);
      }

      @Override
      public java.util.Set<Long> droppingFramesTo() {
        return dropping.get();
      }

      @Override
      public long framesDroppedByFault() {
        return 7;
      }

      @Override
      public void stallRaftLoop(long millis) {
        stalls.add(millis);
      }
    };
    AdminServer withFaults = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), group, group,
        new AdminServer.Sources(healthy::get, () -> CompletableFuture.completedFuture(Map.of()), registry, faults));
    try {
      HttpResponse<String> r = post(withFaults, "/fault?drop-to=3,2");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(dropping.get()).containsExactlyInAnyOrder(2L, 3L);
      assertThat(r.body()).contains("\"framesDropped\" : 7");
      assertThat(post(withFaults, "/fault?drop-to=two").statusCode()).isEqualTo(400);
      assertThat(post(withFaults, "/fault").statusCode()).isEqualTo(400);
      assertThat(dropping.get()).containsExactlyInAnyOrder(2L, 3L);
      assertThat(post(withFaults, "/fault?drop-to=").statusCode()).isEqualTo(200);
      assertThat(dropping.get()).isEmpty();
      assertThat(post(withFaults, "/fault?stall-raft-ms=1500").statusCode()).isEqualTo(200);
      assertThat(post(withFaults, "/fault?stall-raft-ms=-1").statusCode()).isEqualTo(400);
      assertThat(post(withFaults, "/fault?stall-raft-ms=soon").statusCode()).isEqualTo(400);
      assertThat(stalls).containsExactly(1500L);
    } finally {
      withFaults.close();
    }
  }

  @Test
  void healthAnswersWhileASlowStatusIsBeingBuilt() throws Exception {
    CompletableFuture<Object> slow = new CompletableFuture<>();
    AdminServer slowStatus = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), group, group,
        new AdminServer.Sources(healthy::get, () -> slow, registry));
    try {
      URI base = URI.create("http://127.0.0.1:" + slowStatus.localAddress().getPort());
      CompletableFuture<HttpResponse<String>> status = http.sendAsync(
          HttpRequest.newBuilder(base.resolve("/status")).build(), HttpResponse.BodyHandlers.ofString());
      // The one event loop of this server is free while the status is pending: /health and
      // /metrics (on other connections) answer at once.
      HttpResponse<String> health = http.send(HttpRequest.newBuilder(base.resolve("/health"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(http.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      assertThat(status).isNotDone();
      slow.complete(Map.of("nodeId", 9));
      HttpResponse<String> r = status.get(5, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"nodeId\" : 9");
      // A failed status is a 500, not a hung request.
      AdminServer failing = AdminServer.start(new InetSocketAddress("127.0.0.1", 0), group, group,
          new AdminServer.Sources(healthy::get,
              () -> CompletableFuture.failedFuture(new IllegalStateException("busy")), registry));
      try {
        HttpResponse<String> f = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + failing.localAddress().getPort() + "/status")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(f.statusCode()).isEqualTo(500);
        assertThat(f.body()).contains("busy");
      } finally {
        failing.close();
      }
    } finally {
      slowStatus.close();
    }
  }
}
