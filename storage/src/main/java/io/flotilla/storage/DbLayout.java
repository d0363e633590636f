package io.flotilla.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine's directory: {@code <root>/db-<n>/} RocksDB directories and a {@code CURRENT}
 * file naming the active one. {@code CURRENT} is only ever replaced atomically (write tmp, fsync,
 * rename, fsync root), so after any crash it names either the old or the new database, complete.
 * {@code LOCK} is held (OS file lock) while the layout is open, so a second opener cannot delete a
 * database directory that an install is still filling.
 */
final class DbLayout {

  private static final Logger LOG = LoggerFactory.getLogger(DbLayout.class);
  static final String POINTER = "CURRENT";
  static final String POINTER_TMP = "CURRENT.tmp";
  static final String LOCK = "LOCK";
  private static final Pattern DB_DIR = Pattern.compile("db-(\\d{1,18})");

  private final Path root;
  private final FileChannel lockChannel;
  private String current;

  private DbLayout(Path root, FileChannel lockChannel, String current) {
    this.root = root;
    this.lockChannel = lockChannel;
    this.current = current;
  }

  /**
   * Opens (creating if needed) the layout at {@code root} and removes whatever a crash left behind:
   * a pointer tmp file and every {@code db-*} directory that {@code CURRENT} does not name.
   */
  static DbLayout open(Path root) throws IOException {
    Files.createDirectories(root);
    FileChannel lockChannel = FileChannel.open(root.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      try {
        if (lockChannel.tryLock() == null) {
          throw new StorageLockedException(root);  // held by another process
        }
      } catch (OverlappingFileLockException e) {
        throw new StorageLockedException(root);    // held by this process
      }
      return openLocked(root, lockChannel);
    } catch (IOException | RuntimeException e) {
      lockChannel.close();
      throw e;
    }
  }

  private static DbLayout openLocked(Path root, FileChannel lockChannel) throws IOException {
    Files.deleteIfExists(root.resolve(POINTER_TMP));
    Path pointer = root.resolve(POINTER);
    String current;
    if (Files.exists(pointer)) {
      current = Files.readString(pointer, StandardCharsets.US_ASCII).trim();
      if (!DB_DIR.matcher(current).matches() || !Files.isDirectory(root.resolve(current))) {
        throw new StorageFailure(pointer + " names '" + current + "', which is not a database directory");
      }
    } else {
      // CURRENT is written before the first database is ever opened, so any db-* here is from a
      // crash during initialization and holds no applied entries.
      current = "db-0";
    }
    for (String name : dbDirs(root)) {
      if (!name.equals(current)) {
        LOG.info("removing leftover database directory {}", root.resolve(name));
        FsUtil.deleteRecursively(root.resolve(name));
      }
    }
    DbLayout layout = new DbLayout(root, lockChannel, current);
    if (!Files.exists(pointer)) {
      Files.createDirectories(root.resolve(current));
      FsUtil.fsync(root);
      layout.flip(current);
    }
    return layout;
  }

  /** Releases the directory lock. */
  void close() throws IOException {
    lockChannel.close();
  }

  Path root() {
    return root;
  }

  Path currentDir() {
    return root.resolve(current);
  }

  /** A fresh, empty, not-yet-current directory for the next database. */
  Path createNextDir() throws IOException {
    long max = -1;
    for (String name : dbDirs(root)) {
      Matcher m = DB_DIR.matcher(name);
      if (m.matches()) {
        max = Math.max(max, Long.parseLong(m.group(1)));
      }
    }
    Path next = root.resolve("db-" + (max + 1));
    Files.createDirectory(next);
    return next;
  }

  /** Atomically makes {@code dir} (a child of root) the current database directory. */
  void flip(Path dir) throws IOException {
    flip(dir.getFileName().toString());
  }

  private void flip(String name) throws IOException {
    Path tmp = root.resolve(POINTER_TMP);
    Files.writeString(tmp, name + "\n", StandardCharsets.US_ASCII);
    FsUtil.fsync(tmp);
    Files.move(tmp, root.resolve(POINTER), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    FsUtil.fsync(root);
    current = name;
  }

  private static List<String> dbDirs(Path root) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> list = Files.list(root)) {
      for (Path p : (Iterable<Path>) list::iterator) {
        String name = p.getFileName().toString();
        if (DB_DIR.matcher(name).matches() && Files.isDirectory(p)) {
          names.add(name);
        }
      }
    }
    names.sort(null);
    return names;
  }
}
