package io.flotilla.bench;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/** Fresh scratch directories for one benchmark trial, and their removal afterwards. */
final class TempDirs {
  /** System property naming the parent directory; defaults to {@code java.io.tmpdir}. */
  static final String PARENT_PROPERTY = "flotilla.bench.dir";
  /** Pause after deleting a scenario's files, so the next scenario starts on a quiet disk. */
  static final long SETTLE_MILLIS = 150;

  private TempDirs() {}

  /** The parent directory scratch directories go in: the property if set, else the temp dir. */
  static Path defaultParent() {
    return Path.of(System.getProperty(PARENT_PROPERTY, System.getProperty("java.io.tmpdir")));
  }

  /** Creates a new, empty directory under {@code parent} (created if missing). */
  static Path create(Path parent, String prefix) throws IOException {
    Files.createDirectories(parent);
    return Files.createTempDirectory(parent, prefix);
  }

  /** Deletes {@code dir} and everything below it; missing is fine. */
  static void deleteRecursively(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  /**
   * Deletes {@code dir} like {@link #deleteRecursively}, then forces its parent directory and
   * pauses briefly. The deletion is committed (and, on a file system mounted with {@code discard},
   * the freed blocks discarded) now rather than inside the next scenario's first forces.
   */
  static void deleteAndSettle(Path dir) throws IOException {
    deleteRecursively(dir);
    Path parent = dir.toAbsolutePath().getParent();
    if (parent != null) {
      try (FileChannel ch = FileChannel.open(parent, StandardOpenOption.READ)) {
        ch.force(true);
      } catch (IOException e) {
        // Some platforms cannot open a directory; the pause below still helps.
      }
    }
    try {
      Thread.sleep(SETTLE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A readable description of the file system holding {@code dir}, e.g. "ext4 on /dev/vda". */
  static String describeStore(Path dir) {
    try {
      var store = Files.getFileStore(dir);
      return store.type() + " on " + store.name();
    } catch (IOException e) {
      return "unknown file system (" + e.getMessage() + ")";
    }
  }
}
