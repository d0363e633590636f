package io.flotilla.server.node;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateLimitedLogTest {
  @Test
  void aFloodIsCutToTheBurstThenTheRefillRateAndTheHeldBackLinesAreCounted() {
    long[] now = {0};
    RateLimitedLog log = new RateLimitedLog(3, 1_000, () -> now[0]);
    assertThat(log.permit()).isZero();
    assertThat(log.permit()).isZero();
    assertThat(log.permit()).isZero();
    for (int i = 0; i < 1_000; i++) {
      assertThat(log.permit()).isEqualTo(-1);
    }
    now[0] = 999;
    assertThat(log.permit()).isEqualTo(-1);
    now[0] = 1_000;
    assertThat(log.permit()).isEqualTo(1_001); // the next line says how many were held back
    assertThat(log.permit()).isEqualTo(-1);
    now[0] = 1_000_000; // a long quiet spell refills the burst, no more
    assertThat(log.permit()).isEqualTo(1);
    assertThat(log.permit()).isZero();
    assertThat(log.permit()).isZero();
    assertThat(log.permit()).isEqualTo(-1);
  }
}
