package io.flotilla.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.server.local.LocalCluster;
import io.flotilla.server.local.PortRanges;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The booking site over ranges (docs/app.md, "Keys and ranges"): one event's keys share the
 * prefix {@code app/ev/EVENT/}, so a split between events leaves each event's bookings working;
 * a split inside one event's prefix makes a booking over both sides fail with {@code 500
 * cross_range}: nothing booked, the seat map unchanged, never a wrong answer.
 *
 * <p>Rerun: {@code ./mvnw -o -B -pl app -am verify -Dtest=BookingRangesTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@ExtendWith(RerunHint.class)
class BookingRangesTest {
  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void bookingsWorkOnBothSidesOfASplitBetweenEventsAndACutEventSaysCrossRange() throws Exception {
    try (LocalCluster cluster = new LocalCluster(3, PortRanges.freeBase(20_000, 32_000), dir)) {
      cluster.startAll();
      Clusters.awaitLeader(cluster);
      try (FlotillaClient client = new FlotillaClient(ClientOptions.of(cluster.clientEndpoints()));
          AppServer app = AppServer.start(AppServer.Options.of(cluster.clientEndpoints(),
              new InetSocketAddress("127.0.0.1", 0)))) {
        await("sample events seeded").atMost(Duration.ofSeconds(30))
            .until(() -> get(app, "/api/events/raft-night").statusCode() == 200);
        for (String id : new String[] {"alpha", "zulu", "cut"}) {
          assertThat(post(app, "/api/events", "{\"id\":\"" + id + "\",\"name\":\"" + id
              + "\",\"venue\":\"v\",\"when\":\"w\",\"rows\":5,\"seatsPerRow\":5}").statusCode()).isEqualTo(201);
        }
        // Between events: "alpha" and "cut" on the left, "zulu" on the right; and the bench keys'
        // kind of split point, outside app/ altogether.
        split(client, "app/ev/m");
        split(client, "key-0000500000");
        assertThat(book(app, "b-1", "alpha", "A1", "A2").statusCode()).isEqualTo(200);
        assertThat(book(app, "b-2", "zulu", "A1", "E5").statusCode()).isEqualTo(200);
        assertThat(get(app, "/api/events/zulu/bookings/b-2").body()).contains("\"seats\":[\"A1\",\"E5\"]");
        assertThat(get(app, "/api/people/Ada/bookings").body()).contains("\"b-1\"").contains("\"b-2\"");

        // Inside one event's prefix: its seats from C on are in another range than its booking key.
        split(client, "app/ev/cut/seat/C");
        HttpResponse<String> cut = book(app, "b-3", "cut", "A1", "D1");
        assertThat(cut.statusCode()).isEqualTo(500);
        assertThat(cut.body()).contains("\"error\":\"cross_range\"").contains("nothing was booked");
        assertThat(get(app, "/api/events/cut/seats").body()).contains("\"taken\":{}");
        assertThat(get(app, "/api/events/cut/bookings/b-3").statusCode()).isEqualTo(404);
        // Keys all on one side still book.
        assertThat(book(app, "b-4", "cut", "A1").statusCode()).isEqualTo(200);
      }
    }
  }

  private static void split(FlotillaClient client, String key) throws Exception {
    client.splitRange(key.getBytes(StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS);
  }

  private HttpResponse<String> book(AppServer app, String id, String event, String... seats) throws Exception {
    return post(app, "/api/bookings", "{\"bookingId\":\"" + id + "\",\"eventId\":\"" + event
        + "\",\"person\":\"Ada\",\"seats\":[\"" + String.join("\",\"", seats) + "\"]}");
  }

  private HttpResponse<String> get(AppServer app, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(app.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(AppServer app, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(app.uri(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
