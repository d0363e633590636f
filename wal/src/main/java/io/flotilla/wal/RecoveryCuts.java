package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The recovery cuts of groups whose hard state lives in records ({@value #FILE_NAME}, an atomic
 * file). Recovery must save a cut before it destroys the bytes it cuts, but it cannot append a
 * hard-state record to a log whose tail it has not cut yet; so it saves the cuts here first, makes
 * the cut, and once the log is open writes each group's cut into a hard-state record of that group
 * and deletes this file. A crash in between leaves the file, which the next open merges again.
 *
 * <pre>
 * body: u32 count | count x (u64 group | u64 fromIndex | u64 untilIndex | u64 term)
 * </pre>
 */
final class RecoveryCuts {
  static final String FILE_NAME = "recovery-cuts";

  private final AtomicFile file;
  private final Map<Long, RecoveryCut> cuts;

  private RecoveryCuts(AtomicFile file, Map<Long, RecoveryCut> cuts) {
    this.file = file;
    this.cuts = cuts;
  }

  static RecoveryCuts read(Path dir) throws IOException {
    AtomicFile file = new AtomicFile(dir.resolve(FILE_NAME));
    Map<Long, RecoveryCut> cuts = new TreeMap<>();
    Optional<ByteBuffer> body = file.read();
    if (body.isPresent()) {
      ByteBuffer b = body.get();
      int n = b.remaining() >= 4 ? b.getInt(0) : -1;
      if (n < 0 || b.remaining() != 4 + 32L * n) {
        throw new WalCorruptionException(file.path(), 0, "recovery cuts body of " + b.remaining()
            + " bytes");
      }
      for (int k = 0; k < n; k++) {
        int at = 4 + 32 * k;
        try {
          cuts.put(b.getLong(at), new RecoveryCut(b.getLong(at + 8), b.getLong(at + 16),
              b.getLong(at + 24)));
        } catch (IllegalArgumentException e) {
          throw new WalCorruptionException(file.path(), at, e.getMessage());
        }
      }
    }
    return new RecoveryCuts(file, cuts);
  }

  /** The cuts saved, by group. */
  Map<Long, RecoveryCut> cuts() {
    return cuts;
  }

  /** Merges {@code cut} into group {@code group}'s (not yet saved). */
  void add(long group, RecoveryCut cut) {
    cuts.merge(group, cut, RecoveryCut::merge);
  }

  /** Durably replaces the file with the cuts held. */
  void save() throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 + 32 * cuts.size()).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(cuts.size());
    for (Map.Entry<Long, RecoveryCut> e : cuts.entrySet()) {
      RecoveryCut c = e.getValue();
      b.putLong(e.getKey()).putLong(c.fromIndex()).putLong(c.untilIndex()).putLong(c.term());
    }
    b.flip();
    file.write(b);
  }

  /** The cuts are in hard-state records now: the file goes (durably). */
  void delete() throws IOException {
    if (Files.deleteIfExists(file.path())) {
      Fsync.directory(file.path().getParent());
    }
    cuts.clear();
  }
}
