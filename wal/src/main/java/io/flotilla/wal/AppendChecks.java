package io.flotilla.wal;

import java.util.List;

/**
 * The checks of an append that depend only on its arguments: every payload within
 * {@link WalOptions#maxEntryBytes()}, and a batch dense with terms that do not decrease.
 *
 * <p>Separate from {@link Wal} because they need no lock and no log state: {@code Wal} runs them
 * before it takes its appendLock, so a bad call fails without waiting behind other appenders, and
 * what {@code Wal} does under that lock (the batch continues the log, its term is not below the
 * last one) reads apart from them.
 */
final class AppendChecks {
  private AppendChecks() {}

  static WalEntry[] checkedBatch(List<WalEntry> entries, int maxEntryBytes) {
    WalEntry[] batch = entries.toArray(new WalEntry[0]);
    for (int i = 0; i < batch.length; i++) {
      checkPayload(batch[i].payload(), maxEntryBytes);
      if (i > 0 && batch[i].index() != batch[i - 1].index() + 1) {
        throw new IllegalArgumentException("entries not dense: " + batch[i - 1].index() + " then "
            + batch[i].index());
      }
      if (i > 0 && batch[i].term() < batch[i - 1].term()) {
        throw new IllegalArgumentException("term decreases at index " + batch[i].index());
      }
    }
    return batch;
  }

  static void checkPayload(byte[] payload, int maxEntryBytes) {
    if (payload.length > maxEntryBytes) {
      throw new IllegalArgumentException("entry of " + payload.length + " bytes exceeds the limit of "
          + maxEntryBytes);
    }
  }
}
