package io.flotilla.loadgen;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {
  @Test
  void keysAreTheFormattedBytesWithoutTheFormatter() {
    byte[] prefix = "key-".getBytes(UTF_8);
    SplittableRandom rnd = new SplittableRandom(7);
    for (int i = 0; i < 1000; i++) {
      long k = i < 5 ? new long[] {0, 1, 9, 10, 9_999_999_999L}[i] : rnd.nextLong(10_000_000_000L);
      assertThat(new String(LoadGenerator.key(prefix, k), UTF_8)).isEqualTo(String.format("key-%010d", k));
    }
    assertThat(new String(LoadGenerator.key(prefix, 12_345_678_901L), UTF_8)).isEqualTo("key-12345678901");
  }

  @Test
  void unknownTargetsNameWhatIsOnTheClassPath() {
    assertThat(KvTarget.factory("flotilla").name()).isEqualTo("flotilla");
    assertThatThrownBy(() -> KvTarget.factory("cassandra")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("flotilla");
  }
}
