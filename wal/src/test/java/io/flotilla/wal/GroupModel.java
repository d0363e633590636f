package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The reference a group's log must match: its entries, compaction point and hard state, kept in
 * plain Java collections by the tests of the shared log. Every write to the real log is applied
 * here too, with the same rules (dense indexes, truncation, compaction, reset).
 */
final class GroupModel {
  final long id;
  long compactIndex;
  long compactTerm;
  final TreeMap<Long, WalEntry> entries = new TreeMap<>();
  WalHardState hardState = WalHardState.EMPTY;

  GroupModel(long id) {
    this.id = id;
  }

  long lastIndex() {
    return entries.isEmpty() ? compactIndex : entries.lastKey();
  }

  long lastTerm() {
    return entries.isEmpty() ? compactTerm : entries.lastEntry().getValue().term();
  }

  /** {@code n} entries after the last, of {@code term}, with payloads derived from (group, index, salt). */
  List<WalEntry> next(int n, long term, long salt, int size) {
    List<WalEntry> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      long index = lastIndex() + i;
      out.add(new WalEntry(index, term, WalTestSupport.payload(id * 1_000_003L + index, salt, size)));
    }
    return out;
  }

  void append(List<WalEntry> es) {
    for (WalEntry e : es) {
      entries.put(e.index(), e);
    }
  }

  void truncateSuffix(long index) {
    entries.tailMap(index, true).clear();
  }

  void truncatePrefix(long index, long term) {
    if (index >= lastIndex()) {
      entries.clear();
    } else {
      entries.headMap(index, true).clear();
    }
    compactIndex = index;
    compactTerm = term;
  }

  void reset(long index, long term) {
    entries.clear();
    compactIndex = index;
    compactTerm = term;
  }

  long termAt(long index) {
    return index == compactIndex ? compactTerm : entries.get(index).term();
  }

  /** Asserts the real group log holds exactly this. */
  void check(GroupLog log, String ctx) {
    assertThat(log.firstIndex()).as("%s: group %d first index", ctx, id).isEqualTo(compactIndex + 1);
    assertThat(log.lastIndex()).as("%s: group %d last index", ctx, id).isEqualTo(lastIndex());
    assertThat(log.term(compactIndex)).as("%s: group %d term at compaction", ctx, id)
        .isEqualTo(compactTerm);
    assertThat(log.hardState()).as("%s: group %d hard state", ctx, id).isEqualTo(hardState);
    if (!entries.isEmpty()) {
      List<WalEntry> got = log.entries(compactIndex + 1, lastIndex() + 1, 0);
      assertThat(got).as("%s: group %d entries", ctx, id).containsExactlyElementsOf(entries.values());
      for (Map.Entry<Long, WalEntry> e : entries.entrySet()) {
        assertThat(log.term(e.getKey())).as("%s: group %d term %d", ctx, id, e.getKey())
            .isEqualTo(e.getValue().term());
      }
    }
  }
}
