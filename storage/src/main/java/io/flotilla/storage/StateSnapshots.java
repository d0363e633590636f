package io.flotilla.storage;

import io.flotilla.storage.snapshot.SnapshotException;
import io.flotilla.storage.snapshot.SnapshotFiles;
import io.flotilla.storage.snapshot.SnapshotMeta;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.rocksdb.Checkpoint;
import org.rocksdb.RocksDBException;

/**
 * The file work of {@link KvStateMachine}'s snapshots: turning a RocksDB checkpoint into a
 * snapshot directory with a manifest, and building the next database directory from a verified
 * snapshot up to the atomic flip of {@code CURRENT}.
 *
 * <p>Separate from the state machine because none of it touches the state machine's own fields:
 * {@code KvStateMachine} decides when each step runs under which lock (the checkpoint under the
 * read lock, the rest of a create with no lock; an install under the write lock) and what happens
 * once {@code CURRENT} names the new database (swapping it in, the old one closed and deleted).
 */
final class StateSnapshots {
  private StateSnapshots() {}

  /** Checkpoints {@code store} into {@code targetDir}: memtables flushed, SSTs hard-linked. */
  static void checkpoint(RocksStore store, Path targetDir) throws IOException {
    try (Checkpoint checkpoint = Checkpoint.create(store.db)) {
      checkpoint.createCheckpoint(targetDir.toString());
    } catch (RocksDBException e) {
      throw new IOException("checkpoint to " + targetDir + " failed", e);
    }
  }

  /**
   * Makes the checkpoint in {@code targetDir} a snapshot: reads its applied index back from the
   * checkpoint itself (apply may have moved on since), drops RocksDB's diagnostics, fsyncs the
   * tree and writes {@value SnapshotFiles#MANIFEST}.
   */
  static SnapshotMeta finishCheckpoint(Path targetDir) throws IOException {
    long[] applied;
    try (RocksStore checkpoint = RocksStore.openReadOnly(targetDir)) {
      applied = checkpoint.readApplied();
    }
    removeInfoLogs(targetDir);
    FsUtil.fsyncTree(targetDir);
    return SnapshotFiles.writeManifest(targetDir, applied[0], applied[1]);
  }

  /** RocksDB's human-readable info logs (LOG, LOG.old.*) are diagnostics, not state. */
  private static void removeInfoLogs(Path dir) throws IOException {
    try (var list = Files.list(dir)) {
      for (Path p : (Iterable<Path>) list::iterator) {
        String name = p.getFileName().toString();
        if (name.equals("LOG") || name.startsWith("LOG.old") || name.equals("LOCK")) {
          Files.delete(p);
        }
      }
    }
  }

  /**
   * Fills the layout's next database directory from the verified snapshot {@code meta} in
   * {@code snapshotDir}, opens it, checks its applied index against the manifest, and flips
   * {@code CURRENT} to it. Returns the open database, now current. Any failure before the flip
   * removes the new directory and leaves {@code CURRENT} naming the old database.
   */
  static RocksStore stageAndFlip(DbLayout layout, Path snapshotDir, SnapshotMeta meta)
      throws IOException {
    Path next = layout.createNextDir();
    RocksStore fresh = null;
    try {
      for (SnapshotMeta.FileEntry f : meta.files()) {
        copyOrLink(snapshotDir.resolve(f.name()), next.resolve(f.name()));
      }
      FsUtil.fsyncTree(next);
      FsUtil.fsync(layout.root());
      fresh = RocksStore.open(next);
      long[] applied = fresh.readApplied();
      if (applied[0] != meta.appliedIndex() || applied[1] != meta.appliedTerm()) {
        throw new SnapshotException(SnapshotException.Reason.APPLIED_INDEX_MISMATCH, "database says "
            + applied[0] + "/" + applied[1] + ", manifest " + meta.appliedIndex() + "/" + meta.appliedTerm());
      }
      layout.flip(next);
      return fresh;
    } catch (IOException | RuntimeException e) {
      if (fresh != null) {
        fresh.close();
      }
      FsUtil.deleteRecursively(next);
      throw e;
    }
  }

  /** SST files are immutable: hard-link them when possible. Everything else is copied. */
  private static void copyOrLink(Path from, Path to) throws IOException {
    if (from.getFileName().toString().endsWith(".sst")) {
      try {
        Files.createLink(to, from);
        return;
      } catch (IOException | UnsupportedOperationException e) {
        // different filesystem: copy below
      }
    }
    Files.copy(from, to);
  }
}
