package io.flotilla.server.node;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;

/**
 * Who a data directory belongs to: the node id (given by {@code --id}, or allocated by the
 * cluster when a node joins without one) and an incarnation drawn at random when the directory
 * was made. Kept in {@code DATA_DIR/node-id}, written once (temporary file, fsync, rename, fsync
 * of the directory) before the node first starts, read at every start after. The incarnation
 * goes into the member record when the node joins: a node that lost its data directory has a new
 * incarnation, so it cannot come back as the member it was (its log and votes are gone), and a
 * data directory cannot be started under another id (docs/operations.md, "Node identity").
 */
public record NodeIdentity(long id, long incarnation) {
  public static final String FILE = "node-id";

  public NodeIdentity {
    if (id <= 0 || incarnation == 0) {
      throw new IllegalArgumentException("a node identity needs a positive id and a nonzero incarnation: "
          + id + ", " + incarnation);
    }
  }

  /** The identity kept in {@code dataDir}, or empty when it has none (a new directory, or an older one). */
  public static Optional<NodeIdentity> read(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE);
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    Properties p = new Properties();
    p.load(new java.io.StringReader(text));
    try {
      return Optional.of(new NodeIdentity(Long.parseLong(p.getProperty("id", "").trim()),
          Long.parseUnsignedLong(p.getProperty("incarnation", "").trim(), 16)));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + " is not a node identity file (" + e.getMessage() + "); it is written once"
          + " by the node and never edited: restore it from a backup, or start from an empty data directory", e);
    }
  }

  /** Whether {@code dataDir} already holds a node's state (an older directory without an identity file). */
  public static boolean holdsState(Path dataDir) {
    return Files.isDirectory(dataDir.resolve("state")) || Files.isDirectory(dataDir.resolve("raft"));
  }

  /** Makes and durably writes the identity of node {@code id} in {@code dataDir} (created if missing). */
  public static NodeIdentity create(Path dataDir, long id) throws IOException {
    SecureRandom random = new SecureRandom();
    long incarnation;
    do {
      incarnation = random.nextLong();
    } while (incarnation == 0);
    NodeIdentity identity = new NodeIdentity(id, incarnation);
    Files.createDirectories(dataDir);
    Path tmp = dataDir.resolve(FILE + ".tmp");
    byte[] text = ("# This data directory's node (written once; never edit it).\nid=" + id + "\nincarnation="
        + HexFormat.of().toHexDigits(incarnation) + "\n").getBytes(StandardCharsets.UTF_8);
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(text));
      ch.force(true);
    }
    Files.move(tmp, dataDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
    try (FileChannel dir = FileChannel.open(dataDir, StandardOpenOption.READ)) {
      dir.force(true); // the rename is durable before the node uses the id
    }
    return identity;
  }
}
