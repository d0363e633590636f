package io.flotilla.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;

/**
 * The disk's limit, measured the plainest way Java allows: {@code FileChannel.write} at an
 * explicit position followed by {@code force(false)} (fdatasync), one thread, no encoding. The
 * log's numbers are read as ratios of these.
 *
 * <p>Two layouts, because they cost differently: a {@link Layout#PREALLOCATED preallocated} file
 * is zero-filled and forced up front, as the log does with its segments, so every later write
 * overwrites allocated blocks and fdatasync has no file-size metadata to commit; an
 * {@link Layout#APPENDING appending} file grows with every write, so every fdatasync also commits
 * the new size (a journal commit on ext4).
 */
public final class RawFile implements AutoCloseable {

  public enum Layout {
    PREALLOCATED,
    APPENDING
  }

  /** An appending file starts over when it reaches this size, so long runs cannot fill the disk. */
  static final long APPEND_CAP_BYTES = 1L << 30;
  private static final int ZERO_CHUNK = 1 << 20;

  private final FileChannel channel;
  private final Layout layout;
  /** Preallocated: writes wrap to offset 0 here. Appending: the file is emptied here. */
  private final long limitBytes;
  private long position;

  private RawFile(FileChannel channel, Layout layout, long limitBytes) {
    this.channel = channel;
    this.layout = layout;
    this.limitBytes = limitBytes;
  }

  /**
   * Creates {@code file} (which must not exist). For {@link Layout#PREALLOCATED}, zero-fills
   * {@code preallocateBytes} and forces it before returning; writes then wrap around in that range.
   */
  static RawFile create(Path file, Layout layout, long preallocateBytes) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE);
    try {
      if (layout == Layout.PREALLOCATED) {
        if (preallocateBytes < ZERO_CHUNK) {
          throw new IllegalArgumentException("preallocate at least 1 MiB: " + preallocateBytes);
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect(ZERO_CHUNK);
        long pos = 0;
        while (pos < preallocateBytes) {
          zeros.clear().limit((int) Math.min(ZERO_CHUNK, preallocateBytes - pos));
          pos += ch.write(zeros, pos);
        }
        ch.force(true);
        return new RawFile(ch, layout, preallocateBytes);
      }
      return new RawFile(ch, layout, APPEND_CAP_BYTES);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** A direct buffer of {@code size} random (incompressible) bytes, as the log would be handed. */
  static ByteBuffer randomBuffer(int size, long seed) {
    ByteBuffer b = ByteBuffer.allocateDirect(size);
    b.put(randomBytes(size, seed)).flip();
    return b;
  }

  static byte[] randomBytes(int size, long seed) {
    byte[] bytes = new byte[size];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < size; i++) {
      bytes[i] = (byte) r.nextInt(256);
    }
    return bytes;
  }

  Layout layout() {
    return layout;
  }

  /**
   * Writes all of {@code buf} at the next position, then forces the data. The buffer is rewound
   * afterwards, so the caller can pass the same one again.
   */
  void writeAndForce(ByteBuffer buf) throws IOException {
    int n = buf.remaining();
    if (n > limitBytes) {
      throw new IllegalArgumentException("write of " + n + " bytes exceeds the file's range of "
          + limitBytes);
    }
    if (position + n > limitBytes) {
      if (layout == Layout.PREALLOCATED) {
        position = 0;
      } else {
        reset();
      }
    }
    long pos = position;
    while (buf.hasRemaining()) {
      pos += channel.write(buf, pos);
    }
    position = pos;
    channel.force(false);
    buf.rewind();
  }

  /** An appending file is emptied (and that forced); a preallocated one is left as it is. */
  void reset() throws IOException {
    if (layout == Layout.APPENDING) {
      channel.truncate(0);
      channel.force(true);
      position = 0;
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
