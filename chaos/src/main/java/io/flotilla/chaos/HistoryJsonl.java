package io.flotilla.chaos;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.checker.History;
import io.flotilla.checker.HistoryEvent;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code history.jsonl}: a history's events as JSON lines, one per event, written as they are
 * recorded (so a run cut short still leaves its history). The format is in docs/testing.md.
 */
final class HistoryJsonl implements History.Sink {
  /** Every field, null ones too, in this order: the file format. */
  @JsonPropertyOrder({"process", "type", "f", "key", "value", "time", "consistency"})
  @JsonInclude(JsonInclude.Include.ALWAYS)
  private abstract static class Format {}

  private static final ObjectMapper JSON = new ObjectMapper()
      .addMixIn(HistoryEvent.class, Format.class);

  private final BufferedWriter out;

  private HistoryJsonl(Path file) throws IOException {
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
  }

  /** A history written to {@code file} as it is recorded; null: kept in memory only. */
  static History open(Path file, long t0) throws IOException {
    return new History(file == null ? null : new HistoryJsonl(file), t0);
  }

  @Override
  public void write(HistoryEvent e) throws IOException {
    out.write(JSON.writeValueAsString(e));
    out.write('\n');
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
