package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * A small file replaced atomically: write a temporary file, force it, rename it over the old one,
 * force the directory. A crash at any point leaves the old content or the new, never a mix; the
 * checksum catches the case the rename cannot (a disk that returns garbage).
 *
 * <pre>
 *   0 u32 magic 0xF107A70F
 *   4 u32 CRC32C of the body
 *   8 u32 body length
 *  12 ... body
 * </pre>
 */
final class AtomicFile {
  private static final int MAGIC = 0xF107A70F;
  private static final int HEADER = 12;
  static final String TMP_SUFFIX = ".tmp";

  private final Path path;
  private final Path tmp;

  AtomicFile(Path path) {
    this.path = path;
    this.tmp = path.resolveSibling(path.getFileName() + TMP_SUFFIX);
  }

  Path path() {
    return path;
  }

  /** The body, or empty when the file was never written. A damaged file is an error, not empty. */
  Optional<ByteBuffer> read() throws IOException {
    byte[] raw;
    try {
      raw = Files.readAllBytes(path);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    if (raw.length < HEADER || b.getInt(0) != MAGIC) {
      throw new WalCorruptionException(path, 0, "not a Flotilla state file (bad magic or size)");
    }
    int length = b.getInt(8);
    if (length < 0 || length != raw.length - HEADER) {
      throw new WalCorruptionException(path, 8, "length " + length + " does not match file size "
          + raw.length);
    }
    CRC32C crc = new CRC32C();
    crc.update(raw, HEADER, length);
    if ((int) crc.getValue() != b.getInt(4)) {
      throw new WalCorruptionException(path, 4, "checksum mismatch");
    }
    return Optional.of(ByteBuffer.wrap(raw, HEADER, length).slice().order(ByteOrder.LITTLE_ENDIAN));
  }

  void write(ByteBuffer body) throws IOException {
    int length = body.remaining();
    ByteBuffer out = ByteBuffer.allocate(HEADER + length).order(ByteOrder.LITTLE_ENDIAN);
    CRC32C crc = new CRC32C();
    crc.update(body.duplicate());
    out.putInt(MAGIC).putInt((int) crc.getValue()).putInt(length).put(body.duplicate()).flip();
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      while (out.hasRemaining()) {
        ch.write(out);
      }
      ch.force(true);
    }
    Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    Fsync.directory(path.getParent());
  }
}
