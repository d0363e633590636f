package io.flotilla.storage.snapshot;

import io.flotilla.storage.FsUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Receives a snapshot's chunks (from a {@link SnapshotReader} on another node) into a directory of
 * its own, then verifies the whole directory against the manifest. Hand the result to
 * {@link io.flotilla.storage.KvStateMachine#installSnapshot}. Not thread-safe.
 */
public final class SnapshotWriter implements AutoCloseable {

  private final Path dir;
  private final Map<String, Long> written = new HashMap<>();
  private boolean complete;
  private boolean finished;

  /** {@code dir} must not exist yet; it is created here and owned by this writer until finish. */
  public SnapshotWriter(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir.toAbsolutePath().getParent());
    Files.createDirectory(dir);
  }

  public Path dir() {
    return dir;
  }

  public void accept(SnapshotChunk chunk) throws IOException {
    if (complete) {
      throw new SnapshotException(SnapshotException.Reason.BAD_CHUNK, "chunk after the last one");
    }
    String name = chunk.fileName();
    if (!SnapshotFiles.isSafeName(name)) {
      throw new SnapshotException(SnapshotException.Reason.BAD_CHUNK, "unsafe file name '" + name + "'");
    }
    long expected = written.getOrDefault(name, 0L);
    if (chunk.offset() != expected) {
      throw new SnapshotException(SnapshotException.Reason.BAD_CHUNK,
          name + " chunk at offset " + chunk.offset() + ", expected " + expected);
    }
    try (FileChannel ch = FileChannel.open(dir.resolve(name),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(chunk.data());
      long pos = chunk.offset();
      while (buf.hasRemaining()) {
        pos += ch.write(buf, pos);
      }
    }
    written.put(name, expected + chunk.data().length);
    complete = chunk.last();
  }

  /** Fsyncs and verifies the received snapshot; on failure the directory is deleted. */
  public SnapshotMeta finish() throws IOException {
    if (!complete) {
      throw new SnapshotException(SnapshotException.Reason.INCOMPLETE, "stream ended before its last chunk");
    }
    try {
      FsUtil.fsyncTree(dir);
      SnapshotMeta meta = SnapshotFiles.verify(dir);
      finished = true;
      return meta;
    } catch (IOException e) {
      FsUtil.deleteRecursively(dir);
      throw e;
    }
  }

  /** Deletes the received files unless {@link #finish} succeeded. */
  @Override
  public void close() throws IOException {
    if (!finished) {
      FsUtil.deleteRecursively(dir);
    }
  }
}
