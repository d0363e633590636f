package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Persists {@link WalHardState} by atomic replacement. The body is versioned and length-delimited so
 * later versions can append fields; an older reader ignores bytes it does not know.
 *
 * <pre>
 * body v1: u32 version (1) | u64 term | u64 votedFor | u64 commitIndex
 * body v2: v1 fields (version 2) | u64 cut fromIndex | u64 cut untilIndex | u64 cut term
 * </pre>
 *
 * <p>Version 2 is written only while a {@link RecoveryCut} is pending, so a log that never had one
 * keeps files that older builds read. (An older build would read a version 2 file but ignore the
 * cut: do not downgrade a node that reports one.)
 *
 * <p>Not thread-safe: one Raft driver owns it. Each {@link #save} costs two forces and a rename, so
 * a driver saves only when term or vote change; commitIndex rides along when they do.
 */
public final class HardStateFile {
  static final String FILE_NAME = "hardstate";
  private static final int V1_SIZE = 4 + 8 + 8 + 8;
  private static final int V2_SIZE = V1_SIZE + 8 + 8 + 8;

  private final AtomicFile file;
  private WalHardState current;

  private HardStateFile(AtomicFile file, WalHardState current) {
    this.file = file;
    this.current = current;
  }

  /** Opens the store in {@code dir} (created if missing), reading the last saved value. */
  public static HardStateFile open(Path dir) throws IOException {
    Files.createDirectories(dir);
    AtomicFile file = new AtomicFile(dir.resolve(FILE_NAME));
    Optional<ByteBuffer> body = file.read();
    WalHardState hs = body.isEmpty() ? WalHardState.EMPTY : decode(file.path(), body.get());
    return new HardStateFile(file, hs);
  }

  public WalHardState load() {
    return current;
  }

  /** Durably replaces the stored value; returns only once it would survive a crash. */
  public void save(WalHardState hs) throws IOException {
    boolean cut = !hs.cut().isNone();
    ByteBuffer b = ByteBuffer.allocate(cut ? V2_SIZE : V1_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(cut ? 2 : 1).putLong(hs.term()).putLong(hs.votedFor()).putLong(hs.commitIndex());
    if (cut) {
      b.putLong(hs.cut().fromIndex()).putLong(hs.cut().untilIndex()).putLong(hs.cut().term());
    }
    b.flip();
    file.write(b);
    current = hs;
  }

  private static WalHardState decode(Path path, ByteBuffer b) throws WalCorruptionException {
    if (b.remaining() < V1_SIZE) {
      throw new WalCorruptionException(path, 0, "hard state body too short: " + b.remaining());
    }
    int version = b.getInt(0);
    if (version < 1) {
      throw new WalCorruptionException(path, 0, "unknown hard state version " + version);
    }
    if (version >= 2 && b.remaining() < V2_SIZE) {
      throw new WalCorruptionException(path, 0, "hard state version " + version + " body too short: "
          + b.remaining());
    }
    try {
      RecoveryCut cut = version >= 2
          ? new RecoveryCut(b.getLong(28), b.getLong(36), b.getLong(44)) : RecoveryCut.NONE;
      return new WalHardState(b.getLong(4), b.getLong(12), b.getLong(20), cut);
    } catch (IllegalArgumentException e) {
      throw new WalCorruptionException(path, 0, e.getMessage());
    }
  }
}
