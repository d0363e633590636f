package io.flotilla.storage.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A whole snapshot directory as one byte array: the form Raft's InstallSnapshot moves between
 * nodes (the transport splits it into frames). The archive is the {@link SnapshotReader}'s chunks
 * in order, each as {@code [int magic][UTF name][long offset][int length][bytes][boolean last]};
 * integrity comes from the manifest's per-file CRC32C, which {@link SnapshotWriter#finish}
 * verifies on the receiving side, plus the transport's own CRC over the whole archive.
 *
 * <p>Holding the archive in memory bounds the state this suits to what fits comfortably in the
 * heap (a metadata store's hundreds of MiB, not terabytes); see docs/storage.md.
 */
public final class SnapshotArchive {

  private static final int CHUNK_MAGIC = 0x464C5343; // "FLSC"

  private SnapshotArchive() {}

  /** Packs the verified snapshot directory described by {@code meta}. */
  public static byte[] pack(SnapshotMeta meta) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 64,
        meta.totalBytes() + 4096));
    try (SnapshotReader reader = new SnapshotReader(meta); DataOutputStream out = new DataOutputStream(bytes)) {
      while (reader.hasNext()) {
        SnapshotChunk c = reader.next();
        out.writeInt(CHUNK_MAGIC);
        out.writeUTF(c.fileName());
        out.writeLong(c.offset());
        out.writeInt(c.data().length);
        out.write(c.data());
        out.writeBoolean(c.last());
      }
    }
    return bytes.toByteArray();
  }

  /**
   * Unpacks an archive into {@code dir} (which must not exist) and verifies it against its
   * manifest. On any failure nothing is left behind and a {@link SnapshotException} says why.
   */
  public static SnapshotMeta unpack(byte[] archive, Path dir) throws IOException {
    try (SnapshotWriter writer = new SnapshotWriter(dir);
         DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(archive))) {
      boolean last = false;
      while (!last) {
        try {
          if (in.readInt() != CHUNK_MAGIC) {
            throw new SnapshotException(SnapshotException.Reason.BAD_CHUNK, "not a snapshot archive chunk");
          }
          String name = in.readUTF();
          long offset = in.readLong();
          int length = in.readInt();
          if (length < 0 || length > in.available()) {
            throw new SnapshotException(SnapshotException.Reason.BAD_CHUNK, "chunk of " + name
                + " claims " + length + " bytes, " + in.available() + " left");
          }
          byte[] data = in.readNBytes(length);
          last = in.readBoolean();
          writer.accept(new SnapshotChunk(name, offset, data, last));
        } catch (EOFException e) {
          throw new SnapshotException(SnapshotException.Reason.INCOMPLETE, "archive ends before its last chunk");
        }
      }
      if (in.available() != 0) {
        throw new SnapshotException(SnapshotException.Reason.BAD_CHUNK, in.available()
            + " bytes after the last chunk");
      }
      return writer.finish();
    }
  }
}
