package io.flotilla.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.app.load.AppLoad;
import io.flotilla.server.local.LocalCluster;
import io.flotilla.server.local.PortRanges;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The booking site on a 3-node cluster of separate processes, with two app instances (the web
 * tier): a seat booked in one browser (through instance 1) shows as taken, live, in a second
 * browser (through instance 2), which cannot book it; then app-load through both instances while
 * the leader is killed with kill -9 and restarted, and its check holds. Screenshots:
 * target/screenshots/booking*.png.
 *
 * <p>Rerun: {@code ./mvnw -o -B -pl app -am verify -Dtest=BookingBrowserTest
 * -Dsurefire.failIfNoSpecifiedTests=false} (needs /usr/bin/chromium and /usr/bin/chromedriver).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(RerunHint.class)
class BookingBrowserTest {
  @TempDir static Path dir;
  private LocalCluster cluster;
  private AppServer app1;
  private AppServer app2;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    cluster = new LocalCluster(3, PortRanges.freeBase(20_000, 32_000), dir);
    cluster.startAll();
    Clusters.awaitLeader(cluster);
    app1 = AppServer.start(AppServer.Options.of(cluster.clientEndpoints(), new InetSocketAddress("127.0.0.1", 0)));
    app2 = AppServer.start(AppServer.Options.of(cluster.clientEndpoints(), new InetSocketAddress("127.0.0.1", 0)));
    await("sample events seeded").atMost(Duration.ofSeconds(30))
        .until(() -> get(app2, "/api/events/raft-night").statusCode() == 200);
  }

  @AfterAll
  void stop() {
    if (app1 != null) {
      app1.close();
    }
    if (app2 != null) {
      app2.close();
    }
    cluster.close();
  }

  @Test
  @Order(1)
  void aSeatBookedInOneBrowserIsTakenInTheOther() throws Exception {
    try (Browser ada = Browser.open(dir, 1280, 1000); Browser bob = Browser.open(dir, 1280, 1000)) {
      open(ada, app1, "Ada Lovelace");
      open(bob, app2, "Bob");

      seat(ada, "C5").click();
      assertThat(seat(ada, "C5").getAttribute("aria-pressed")).isEqualTo("true");
      ada.driver.findElement(By.id("book")).click();
      await("Ada's confirmation").atMost(Duration.ofSeconds(15)).ignoreExceptions()
          .until(() -> ada.driver.findElement(By.id("result")).getText().startsWith("Confirmed: seats C5"));
      await("Ada's bookings list").atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> ada.driver.findElement(By.id("mine")).getText().contains("C5"));
      ada.screenshot("booking");

      // Bob's page hears of it through the other app instance, live, without a reload.
      await("C5 taken in Bob's browser").atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> seat(bob, "C5").getAttribute("class").contains("taken"));
      seat(bob, "C5").click();
      assertThat(seat(bob, "C5").getAttribute("aria-pressed")).as("a taken seat cannot be chosen").isNull();
      assertThat(bob.driver.findElement(By.id("book")).isEnabled()).isFalse();
      // ... and the store refuses it even to a request that skips the page.
      HttpResponse<String> r = post(app2, "/api/bookings",
          "{\"eventId\":\"raft-night\",\"person\":\"Bob\",\"seats\":[\"C5\"]}");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(409);
      assertThat(r.body()).contains("seats_taken");
      bob.screenshot("booking-taken");

      // A booking retried with the same id is answered with the booking, never applied twice.
      String again = "{\"bookingId\":\"b-retry-1\",\"eventId\":\"raft-night\",\"person\":\"Bob\",\"seats\":[\"D1\"]}";
      assertThat(post(app1, "/api/bookings", again).body()).contains("\"replay\":false");
      assertThat(post(app2, "/api/bookings", again).body()).contains("\"replay\":true");

      bob.resize(390, 844);
      bob.screenshot("booking-phone");
      assertThat(ada.consoleErrors()).as("console errors (Ada)").isEmpty();
      assertThat(bob.consoleErrors()).as("console errors (Bob)").isEmpty();
    }
  }

  @Test
  @Order(2)
  void appLoadCheckHoldsWhileTheLeaderIsKilled() throws Exception {
    ByteArrayOutputStream transcript = new ByteArrayOutputStream();
    AppLoad load = new AppLoad(new AppLoad.Settings(List.of(app1.uri("/"), app2.uri("/")), 8,
        Duration.ofSeconds(20), Duration.ofMillis(50), 7, Duration.ofSeconds(60)),
        new PrintStream(transcript, true, StandardCharsets.UTF_8));
    CompletableFuture<AppLoad.Result> run = CompletableFuture.supplyAsync(() -> {
      try {
        return load.run();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
    await("bookings under way").atMost(Duration.ofSeconds(20)).until(() -> load.confirmedSoFar() >= 20);
    int leader = Clusters.awaitLeader(cluster);
    cluster.kill(leader);
    long before = load.confirmedSoFar();
    await("bookings go on without node " + leader).atMost(Duration.ofSeconds(20))
        .until(() -> load.confirmedSoFar() >= before + 20);
    cluster.start(leader);
    AppLoad.Result result = run.get();
    String out = transcript.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    assertThat(result.problems()).as(out).isEmpty();
    assertThat(result.confirmed()).as(out).isGreaterThan(before + 20);
    assertThat(result.seatsBooked()).as(out).isEqualTo(result.seatsConfirmed());
  }

  private static void open(Browser b, AppServer app, String person) {
    b.driver.get(app.url() + "/#raft-night");
    b.driver.findElement(By.id("person")).sendKeys(person);
    await("the seat map, live").atMost(Duration.ofSeconds(15)).ignoreExceptions()
        .until(() -> b.driver.findElement(By.id("feed")).getAttribute("class").contains("live")
            && !b.driver.findElements(By.cssSelector(".seat[data-seat='C5']")).isEmpty());
  }

  private static WebElement seat(Browser b, String seat) {
    return b.driver.findElement(By.cssSelector(".seat[data-seat='" + seat + "']"));
  }

  private HttpResponse<String> get(AppServer app, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(app.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(AppServer app, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(app.uri(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
