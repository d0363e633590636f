package io.flotilla.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.checker.History;
import io.flotilla.checker.HistoryEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file format of {@code history.jsonl} (docs/testing.md): every field, in order, nulls too. */
class HistoryJsonlTest {
  @TempDir Path dir;

  @Test
  void eachEventIsOneLineWithEveryFieldInOrder() throws Exception {
    Path file = dir.resolve("history.jsonl");
    HistoryEvent put;
    HistoryEvent got;
    try (History h = HistoryJsonl.open(file, System.nanoTime())) {
      put = h.record(0, HistoryEvent.INVOKE, "cas", "k1", List.of(1L, 2L), null);
      got = h.record(1, HistoryEvent.OK, "get", "k2", null, "FOLLOWER");
    }
    assertThat(Files.readAllLines(file)).containsExactly(
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"k1\",\"value\":[1,2],\"time\":"
            + put.time() + ",\"consistency\":null}",
        "{\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"k2\",\"value\":null,\"time\":"
            + got.time() + ",\"consistency\":\"FOLLOWER\"}");
  }

  @Test
  void withoutAFileTheHistoryIsKeptInMemoryOnly() throws Exception {
    try (History h = HistoryJsonl.open(null, System.nanoTime())) {
      h.record(h.newProcess(), HistoryEvent.INVOKE, "put", "k", 1L, null);
      assertThat(h.events()).hasSize(1);
    }
    assertThat(dir).isEmptyDirectory();
  }
}
