package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalFailureTest {
  @TempDir Path dir;

  @Test
  void anIoErrorFailsThePendingAppendAndEveryLaterOne() throws Exception {
    Wal wal = Wal.open(WalOptions.defaults(dir));
    try {
      WalTestSupport.appendEach(wal, 3, 1, 10);
      // Pull the file out from under the writer: its next write or force throws.
      wal.segments.get(0).channel.close();
      assertThatThrownBy(() -> wal.append(1, new byte[10]).join())
          .isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(WalFailedException.class);
      assertThatThrownBy(() -> wal.append(1, new byte[10]).join())
          .hasCauseInstanceOf(WalFailedException.class);
      assertThatThrownBy(() -> wal.truncateSuffix(2)).isInstanceOf(WalFailedException.class);
      assertThat(wal.durableIndex()).isEqualTo(3);
    } finally {
      wal.close();
    }
    // Reopening recovers what was durable.
    try (Wal again = Wal.open(WalOptions.defaults(dir))) {
      assertThat(again.lastIndex()).isEqualTo(3);
    }
  }

  @Test
  void appendsAfterCloseFailAndDoNotHang() throws Exception {
    Wal wal = Wal.open(WalOptions.defaults(dir));
    wal.close();
    assertThatThrownBy(() -> wal.append(1, new byte[1]).join())
        .hasCauseInstanceOf(WalException.class).hasMessageContaining("closed");
  }

  @Test
  void aSecondOpenOfTheSameDirectoryIsRefused() throws Exception {
    try (Wal wal = Wal.open(WalOptions.defaults(dir))) {
      assertThatThrownBy(() -> Wal.open(WalOptions.defaults(dir)))
          .isInstanceOf(WalLockedException.class).hasMessageContaining("locked");
      assertThat(wal.lastIndex()).isZero();
    }
    Wal.open(WalOptions.defaults(dir)).close();
  }
}
