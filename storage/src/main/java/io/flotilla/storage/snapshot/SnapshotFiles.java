package io.flotilla.storage.snapshot;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.storage.FsUtil;
import io.flotilla.storage.proto.SnapshotFile;
import io.flotilla.storage.proto.SnapshotManifest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The snapshot manifest: file {@value #MANIFEST} in the snapshot directory, holding a
 * {@code SnapshotManifest} protobuf followed by the CRC32C of those bytes (4 bytes, big-endian).
 */
public final class SnapshotFiles {

  public static final String MANIFEST = "flotilla-snapshot.manifest";
  public static final int FORMAT_VERSION = 1;

  private SnapshotFiles() {}

  /** Lists {@code dir}'s files (sorted by name), computes sizes and checksums, writes the manifest. */
  public static SnapshotMeta writeManifest(Path dir, long appliedIndex, long appliedTerm) throws IOException {
    SnapshotManifest.Builder manifest = SnapshotManifest.newBuilder()
        .setFormatVersion(FORMAT_VERSION)
        .setAppliedIndex(appliedIndex)
        .setAppliedTerm(appliedTerm);
    for (String name : listFiles(dir)) {
      if (name.equals(MANIFEST)) {
        continue;
      }
      Path p = dir.resolve(name);
      manifest.addFiles(SnapshotFile.newBuilder()
          .setName(name)
          .setSize(Files.size(p))
          .setCrc32C(FsUtil.crc32c(p)));
    }
    byte[] body = manifest.build().toByteArray();
    CRC32C crc = new CRC32C();
    crc.update(body);
    byte[] framed = ByteBuffer.allocate(body.length + 4).put(body).putInt((int) crc.getValue()).array();
    Path file = dir.resolve(MANIFEST);
    Files.write(file, framed);
    FsUtil.fsync(file);
    FsUtil.fsync(dir);
    return toMeta(dir, manifest.build());
  }

  /** Reads and checks the manifest's own checksum; does not look at the other files. */
  public static SnapshotMeta readManifest(Path dir) throws IOException {
    Path file = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(file)) {
      throw new SnapshotException(SnapshotException.Reason.MANIFEST_MISSING, file.toString());
    }
    byte[] framed = Files.readAllBytes(file);
    if (framed.length < 4) {
      throw new SnapshotException(SnapshotException.Reason.MANIFEST_CORRUPT, "manifest is " + framed.length + " bytes");
    }
    CRC32C crc = new CRC32C();
    crc.update(framed, 0, framed.length - 4);
    if ((int) crc.getValue() != ByteBuffer.wrap(framed, framed.length - 4, 4).getInt()) {
      throw new SnapshotException(SnapshotException.Reason.MANIFEST_CORRUPT, "manifest checksum mismatch");
    }
    SnapshotManifest manifest;
    try {
      manifest = SnapshotManifest.parseFrom(ByteBuffer.wrap(framed, 0, framed.length - 4));
    } catch (InvalidProtocolBufferException e) {
      throw new SnapshotException(SnapshotException.Reason.MANIFEST_CORRUPT, e.getMessage());
    }
    if (manifest.getFormatVersion() != FORMAT_VERSION) {
      throw new SnapshotException(SnapshotException.Reason.MANIFEST_CORRUPT,
          "format version " + manifest.getFormatVersion());
    }
    for (SnapshotFile f : manifest.getFilesList()) {
      if (!isSafeName(f.getName()) || f.getName().equals(MANIFEST)) {
        throw new SnapshotException(SnapshotException.Reason.MANIFEST_CORRUPT, "bad file name " + f.getName());
      }
    }
    return toMeta(dir, manifest);
  }

  /**
   * Verifies a complete snapshot directory: the manifest, then every listed file's size and CRC32C,
   * and that no other file is present.
   */
  public static SnapshotMeta verify(Path dir) throws IOException {
    SnapshotMeta meta = readManifest(dir);
    Set<String> listed = new HashSet<>();
    for (SnapshotMeta.FileEntry f : meta.files()) {
      listed.add(f.name());
      Path p = dir.resolve(f.name());
      if (!Files.isRegularFile(p)) {
        throw new SnapshotException(SnapshotException.Reason.FILE_MISSING, f.name());
      }
      long size = Files.size(p);
      if (size != f.size()) {
        throw new SnapshotException(SnapshotException.Reason.SIZE_MISMATCH,
            f.name() + " is " + size + " bytes, manifest says " + f.size());
      }
      if (FsUtil.crc32c(p) != f.crc32c()) {
        throw new SnapshotException(SnapshotException.Reason.CHECKSUM_MISMATCH, f.name());
      }
    }
    for (String name : listFiles(dir)) {
      if (!name.equals(MANIFEST) && !listed.contains(name)) {
        throw new SnapshotException(SnapshotException.Reason.UNEXPECTED_FILE, name);
      }
    }
    return meta;
  }

  /** A file name that stays inside the snapshot directory. */
  public static boolean isSafeName(String name) {
    return !name.isEmpty() && !name.equals(".") && !name.equals("..")
        && name.indexOf('/') < 0 && name.indexOf('\\') < 0 && name.indexOf('\0') < 0;
  }

  static List<String> listFiles(Path dir) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : (Iterable<Path>) list::iterator) {
        names.add(p.getFileName().toString());
      }
    }
    names.sort(null);
    return names;
  }

  private static SnapshotMeta toMeta(Path dir, SnapshotManifest m) {
    List<SnapshotMeta.FileEntry> files = new ArrayList<>();
    for (SnapshotFile f : m.getFilesList()) {
      files.add(new SnapshotMeta.FileEntry(f.getName(), f.getSize(), f.getCrc32C()));
    }
    return new SnapshotMeta(dir, m.getAppliedIndex(), m.getAppliedTerm(), files);
  }
}
