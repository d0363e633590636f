package io.flotilla.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Error;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Live seat maps: watchers get the map when it changes, "retrying" while the store does not
 * answer (and no map meanwhile: never one the store did not give), "live" again after.
 */
class SeatFeedsTest {
  @Test
  void pushesChangesAndSaysRetryingWhileTheStoreIsAway() {
    AtomicReference<Map<String, String>> store = new AtomicReference<>(new TreeMap<>(Map.of("A1", "b-1")));
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (SeatFeeds feeds = new SeatFeeds(id -> {
      if (failure.get() != null) {
        throw failure.get();
      }
      return store.get();
    }, 20)) {
      feeds.watch("ev", out);
      await().atMost(Duration.ofSeconds(5)).until(() -> text(out).contains("\"A1\":\"b-1\""));
      assertThat(text(out)).contains("event: status\ndata: {\"state\":\"live\"}");

      failure.set(new FlotillaException(Error.Code.UNAVAILABLE, "electing", false));
      store.set(new TreeMap<>()); // what a broken read might look like: never shown
      await().atMost(Duration.ofSeconds(5)).until(() -> text(out).contains("\"state\":\"retrying\""));
      assertThat(text(out).split("event: seats", -1)).as("one seat map so far").hasSize(2);

      store.set(new TreeMap<>(Map.of("A1", "b-1", "B2", "b-2")));
      failure.set(null);
      await().atMost(Duration.ofSeconds(5)).until(() -> text(out).contains("\"B2\":\"b-2\""));
      String all = text(out);
      assertThat(all.lastIndexOf("\"state\":\"live\"")).isGreaterThan(all.indexOf("\"state\":\"retrying\""));
      assertThat(all).doesNotContain("\"taken\":{}");
      assertThat(feeds.watchers()).isEqualTo(1);
    }
  }

  private static String text(ByteArrayOutputStream out) {
    synchronized (out) {
      return out.toString(StandardCharsets.UTF_8);
    }
  }
}
