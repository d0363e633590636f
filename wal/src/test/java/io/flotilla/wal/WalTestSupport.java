package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Shared helpers: deterministic payloads, small-segment options, file listing. */
final class WalTestSupport {
  private WalTestSupport() {}

  /** Options with tiny segments so a few hundred entries span several segments. */
  static WalOptions small(Path dir) {
    return WalOptions.defaults(dir).withSegmentBytes(8 * 1024).withPreallocateBytes(4 * 1024);
  }

  /** A payload that can be recomputed from (a, b): lets a reader check every byte. */
  static byte[] payload(long a, long b, int size) {
    byte[] p = new byte[size];
    ByteBuffer head = ByteBuffer.allocate(16).putLong(0, a).putLong(8, b);
    SplittableRandom r = new SplittableRandom(a * 1_000_003L + b);
    for (int i = 0; i < size; i++) {
      p[i] = i < 16 ? head.get(i) : (byte) r.nextInt(256);
    }
    return p;
  }

  static List<Path> segmentFiles(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + Segment.SUFFIX)) {
      ds.forEach(out::add);
    }
    out.sort(null);
    return out;
  }

  static Path lastSegment(Path dir) throws IOException {
    List<Path> segs = segmentFiles(dir);
    return segs.get(segs.size() - 1);
  }

  /** Appends entries 1..n, each its own durable batch, with payload(i, term, size). */
  static void appendEach(Wal wal, int n, long term, int size) {
    for (int i = 0; i < n; i++) {
      long index = wal.lastIndex() + 1;
      wal.append(term, payload(index, term, size)).join();
    }
  }

  /** Flips bit 6 of the byte at {@code offset} of {@code file}. */
  static void flipByte(Path file, long offset) throws IOException {
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
      ch.write(b, offset);
    }
  }

  /** Copies every regular file of {@code from} into a new directory {@code to}. */
  static void copyDir(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(from)) {
      for (Path p : ds) {
        if (Files.isRegularFile(p) && !p.getFileName().toString().equals(DirLock.FILE_NAME)) {
          Files.copy(p, to.resolve(p.getFileName()));
        }
      }
    }
  }
}
