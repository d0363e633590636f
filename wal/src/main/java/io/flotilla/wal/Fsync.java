package io.flotilla.wal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Durability helpers shared by the log and the atomic files. */
final class Fsync {
  private Fsync() {}

  /**
   * Forces a directory, so that a file created, renamed or deleted in it survives a crash. Without
   * this, ext4 and XFS may lose the directory entry even though the file's data was forced.
   */
  static void directory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
