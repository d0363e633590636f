package io.flotilla.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/** Filesystem helpers: fsync of files and directories, recursive delete, CRC32C. */
public final class FsUtil {

  private FsUtil() {}

  public static void fsync(Path path) throws IOException {
    boolean dir = Files.isDirectory(path);
    try (FileChannel ch = FileChannel.open(path, dir ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Fsyncs every regular file directly in {@code dir}, then the directory itself. */
  public static void fsyncTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(p)) {
          fsync(p);
        }
      }
    }
    fsync(dir);
  }

  public static void deleteRecursively(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  public static int crc32c(Path file) throws IOException {
    CRC32C crc = new CRC32C();
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = Files.newInputStream(file)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        crc.update(buf, 0, n);
      }
    }
    return (int) crc.getValue();
  }
}
