package io.flotilla.storage.snapshot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Streams a snapshot directory as chunks of at most {@code chunkSize} bytes: every file of the
 * manifest in manifest order, then the manifest itself, whose final chunk has {@code last = true}.
 * An empty file is sent as one empty chunk so the receiver creates it.
 *
 * <p>Not thread-safe; one reader per transfer. The snapshot directory must not change meanwhile
 * (snapshot files are immutable once {@link io.flotilla.storage.KvStateMachine#createSnapshot}
 * returns).
 */
public final class SnapshotReader implements Iterator<SnapshotChunk>, AutoCloseable {

  public static final int DEFAULT_CHUNK_SIZE = 1024 * 1024;

  private final Path dir;
  private final int chunkSize;
  private final List<String> names = new ArrayList<>();
  private int fileIndex;
  private FileChannel channel;
  private long offset;

  public SnapshotReader(SnapshotMeta meta, int chunkSize) {
    if (chunkSize < 1) {
      throw new IllegalArgumentException("chunkSize < 1: " + chunkSize);
    }
    this.dir = meta.dir();
    this.chunkSize = chunkSize;
    meta.files().forEach(f -> names.add(f.name()));
    names.add(SnapshotFiles.MANIFEST);
  }

  public SnapshotReader(SnapshotMeta meta) {
    this(meta, DEFAULT_CHUNK_SIZE);
  }

  @Override
  public boolean hasNext() {
    return fileIndex < names.size();
  }

  @Override
  public SnapshotChunk next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    try {
      String name = names.get(fileIndex);
      if (channel == null) {
        channel = FileChannel.open(dir.resolve(name), StandardOpenOption.READ);
        offset = 0;
      }
      long remaining = channel.size() - offset;
      int n = (int) Math.min(chunkSize, Math.max(0, remaining));
      ByteBuffer buf = ByteBuffer.allocate(n);
      while (buf.hasRemaining()) {
        if (channel.read(buf, offset + buf.position()) < 0) {
          throw new IOException(name + " shrank while being read");
        }
      }
      long chunkOffset = offset;
      offset += n;
      boolean fileDone = offset >= channel.size();
      if (fileDone) {
        channel.close();
        channel = null;
        fileIndex++;
      }
      return new SnapshotChunk(name, chunkOffset, buf.array(), fileDone && fileIndex == names.size());
    } catch (IOException e) {
      throw new UncheckedIOException("reading snapshot " + dir, e);
    }
  }

  @Override
  public void close() throws IOException {
    if (channel != null) {
      channel.close();
      channel = null;
    }
  }
}
