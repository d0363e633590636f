package io.flotilla.storage;

import static io.flotilla.storage.Cmds.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.storage.snapshot.SnapshotArchive;
import io.flotilla.storage.snapshot.SnapshotChunk;
import io.flotilla.storage.snapshot.SnapshotException;
import io.flotilla.storage.snapshot.SnapshotFiles;
import io.flotilla.storage.snapshot.SnapshotMeta;
import io.flotilla.storage.snapshot.SnapshotReader;
import io.flotilla.storage.snapshot.SnapshotWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotTest {

  static final StorageOptions OPTS = StorageOptions.defaults().withSessionExpiryEntries(500);
  static final List<CommittedCommand> STREAM = RandomStream.generate(4242, 3000);

  @TempDir
  Path tmp;
  KvStateMachine leader;
  KvStateMachine follower;

  @BeforeEach
  void setUp() throws Exception {
    leader = KvStateMachine.open(tmp.resolve("leader"), OPTS);
    RandomStream.applyInBatches(leader, STREAM.subList(0, 2000), 1, 50);
    follower = KvStateMachine.open(tmp.resolve("follower"), OPTS);
    RandomStream.applyInBatches(follower, STREAM.subList(0, 10), 1, 50);
  }

  @AfterEach
  void tearDown() {
    leader.close();
    follower.close();
  }

  static List<SnapshotChunk> chunks(SnapshotMeta meta, int chunkSize) throws IOException {
    List<SnapshotChunk> out = new ArrayList<>();
    try (SnapshotReader reader = new SnapshotReader(meta, chunkSize)) {
      reader.forEachRemaining(out::add);
    }
    return out;
  }

  static List<String> names(Path dir) throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  SnapshotMeta receive(List<SnapshotChunk> chunks) throws IOException {
    try (SnapshotWriter writer = new SnapshotWriter(tmp.resolve("recv"))) {
      for (SnapshotChunk c : chunks) {
        writer.accept(c);
      }
      return writer.finish();
    }
  }

  @Test
  void streamInstallAndCatchUp() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    assertThat(meta.appliedIndex()).isEqualTo(2000);
    assertThat(meta.appliedTerm()).isEqualTo(leader.appliedTerm());
    assertThat(meta.files()).isNotEmpty();
    assertThat(names(meta.dir())).contains(SnapshotFiles.MANIFEST).doesNotContain("LOG", "LOCK");
    System.out.println("snapshot files: " + meta.files());

    List<SnapshotChunk> chunks = chunks(meta, 4096);
    assertThat(chunks.size()).isGreaterThan(meta.files().size());
    assertThat(chunks).filteredOn(SnapshotChunk::last).hasSize(1);
    assertThat(chunks.get(chunks.size() - 1).last()).isTrue();
    assertThat(chunks).allMatch(c -> c.data().length <= 4096);

    SnapshotMeta received = receive(chunks);
    SnapshotMeta installed = follower.installSnapshot(received.dir());
    assertThat(installed.appliedIndex()).isEqualTo(2000);
    assertThat(follower.appliedIndex()).isEqualTo(2000);
    assertThat(follower.appliedTerm()).isEqualTo(leader.appliedTerm());
    assertThat(follower.digest()).isEqualTo(leader.digest());
    assertThat(follower.sessionCount()).isEqualTo(leader.sessionCount()).isPositive();
    assertThat(names(tmp.resolve("follower"))).containsExactly("CURRENT", "LOCK", "db-1");

    // both continue with the same log and stay equal, including results
    List<CommittedCommand> rest = STREAM.subList(2000, 3000);
    assertThat(RandomStream.applyInBatches(follower, rest, 7, 13))
        .isEqualTo(RandomStream.applyInBatches(leader, rest, 8, 100));
    assertThat(follower.digest()).isEqualTo(leader.digest());

    follower.close();
    follower = KvStateMachine.open(tmp.resolve("follower"), OPTS);
    assertThat(follower.digest()).isEqualTo(leader.digest());
    // the leader's snapshot directory is still intact (SSTs were linked, not moved)
    assertThat(SnapshotFiles.verify(meta.dir()).appliedIndex()).isEqualTo(2000);
  }

  @Test
  void snapshotIsAConsistentPointInTime() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    byte[] atSnapshot = leader.digest();
    RandomStream.applyInBatches(leader, STREAM.subList(2000, 2100), 3, 10);
    follower.installSnapshot(meta.dir());
    assertThat(follower.digest()).isEqualTo(atSnapshot);
  }

  @Test
  void snapshotWhileApplyingOnAnotherThread() throws Exception {
    // Reference digests at every batch boundary: a snapshot must match one of them exactly.
    Map<Long, byte[]> digestAt = new HashMap<>();
    List<CommittedCommand> rest = STREAM.subList(2000, 3000);
    try (KvStateMachine ref = KvStateMachine.open(tmp.resolve("ref"), OPTS)) {
      RandomStream.applyInBatches(ref, STREAM.subList(0, 2000), 1, 50);
      for (int i = 0; i < rest.size(); i += 20) {
        ref.apply(rest.subList(i, i + 20));
        digestAt.put(ref.appliedIndex(), ref.digest());
      }
    }
    ExecutorService applier = Executors.newSingleThreadExecutor();
    try {
      Future<?> applying = applier.submit(() -> {
        for (int i = 0; i < rest.size(); i += 20) {
          leader.apply(rest.subList(i, i + 20));
        }
      });
      List<SnapshotMeta> snaps = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        snaps.add(leader.createSnapshot(tmp.resolve("snap-" + i)));
      }
      applying.get();
      for (SnapshotMeta meta : snaps) {
        follower.installSnapshot(meta.dir());
        if (meta.appliedIndex() > 2000) {
          assertThat(follower.digest()).as("snapshot at %d", meta.appliedIndex())
              .isEqualTo(digestAt.get(meta.appliedIndex()));
        }
      }
    } finally {
      applier.shutdownNow();
    }
  }

  @Test
  void corruptedChunkFailsVerificationAndOldStateKeepsServing() throws Exception {
    byte[] before = follower.digest();
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    List<SnapshotChunk> chunks = new ArrayList<>(chunks(meta, 4096));
    int victim = 0;
    while (!chunks.get(victim).fileName().endsWith(".sst") || chunks.get(victim).data().length == 0) {
      victim++;
    }
    SnapshotChunk c = chunks.get(victim);
    byte[] data = c.data().clone();
    data[data.length / 2] ^= 0x5a;
    chunks.set(victim, new SnapshotChunk(c.fileName(), c.offset(), data, c.last()));

    assertThatThrownBy(() -> receive(chunks))
        .isInstanceOf(SnapshotException.class)
        .satisfies(e -> assertThat(((SnapshotException) e).reason())
            .isEqualTo(SnapshotException.Reason.CHECKSUM_MISMATCH));
    assertThat(tmp.resolve("recv")).doesNotExist();
    assertThat(follower.digest()).isEqualTo(before);
    assertThat(follower.appliedIndex()).isEqualTo(10);
  }

  @Test
  void corruptedManifestIsRejected() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    List<SnapshotChunk> chunks = new ArrayList<>(chunks(meta, 1 << 20));
    SnapshotChunk m = chunks.remove(chunks.size() - 1);
    byte[] data = m.data().clone();
    data[1] ^= 1;
    chunks.add(new SnapshotChunk(m.fileName(), m.offset(), data, true));
    assertThatThrownBy(() -> receive(chunks)).isInstanceOf(SnapshotException.class)
        .satisfies(e -> assertThat(((SnapshotException) e).reason())
            .isEqualTo(SnapshotException.Reason.MANIFEST_CORRUPT));
  }

  @Test
  void installOfCorruptDirectoryChangesNothing() throws Exception {
    byte[] before = follower.digest();
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    Path victim = meta.dir().resolve(meta.files().get(0).name());
    byte[] bytes = Files.readAllBytes(victim);
    Files.delete(victim);  // it may be a hard link shared with the leader's database
    Files.write(victim, java.util.Arrays.copyOf(bytes, bytes.length + 1));
    assertThatThrownBy(() -> follower.installSnapshot(meta.dir())).isInstanceOf(SnapshotException.class)
        .satisfies(e -> assertThat(((SnapshotException) e).reason())
            .isEqualTo(SnapshotException.Reason.SIZE_MISMATCH));
    Files.writeString(meta.dir().resolve("stray"), "x");
    Files.write(victim, bytes);
    assertThatThrownBy(() -> follower.installSnapshot(meta.dir())).isInstanceOf(SnapshotException.class)
        .satisfies(e -> assertThat(((SnapshotException) e).reason())
            .isEqualTo(SnapshotException.Reason.UNEXPECTED_FILE));
    assertThat(follower.digest()).isEqualTo(before);
    assertThat(names(tmp.resolve("follower"))).containsExactly("CURRENT", "LOCK", "db-0");
  }

  @Test
  void chunkProtocolViolations() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    List<SnapshotChunk> chunks = chunks(meta, 4096);
    try (SnapshotWriter w = new SnapshotWriter(tmp.resolve("w1"))) {
      SnapshotChunk c = chunks.get(0);
      assertThatThrownBy(() -> w.accept(new SnapshotChunk(c.fileName(), 5, c.data(), false)))
          .isInstanceOf(SnapshotException.class).hasMessageContaining("BAD_CHUNK");
      assertThatThrownBy(() -> w.accept(new SnapshotChunk("../evil", 0, c.data(), false)))
          .isInstanceOf(SnapshotException.class).hasMessageContaining("BAD_CHUNK");
      w.accept(c);
      assertThatThrownBy(w::finish).isInstanceOf(SnapshotException.class).hasMessageContaining("INCOMPLETE");
    }
    assertThat(tmp.resolve("w1")).doesNotExist();
  }

  @Test
  void crashBeforeFlipRecoversOldState() throws Exception {
    byte[] before = follower.digest();
    follower.close();
    Path root = tmp.resolve("follower");
    // a half-copied next database and a half-written pointer
    Files.createDirectories(root.resolve("db-1"));
    Files.writeString(root.resolve("db-1").resolve("000012.sst"), "partial");
    Files.writeString(root.resolve("CURRENT.tmp"), "db-1\n", StandardCharsets.US_ASCII);
    follower = KvStateMachine.open(root, OPTS);
    assertThat(follower.digest()).isEqualTo(before);
    assertThat(names(root)).containsExactly("CURRENT", "LOCK", "db-0");
  }

  @Test
  void crashAfterFlipRecoversNewState() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    follower.close();
    Path root = tmp.resolve("follower");
    // the next database is complete and CURRENT names it, but the old one was not yet deleted
    Path next = Files.createDirectories(root.resolve("db-1"));
    for (SnapshotMeta.FileEntry f : meta.files()) {
      Files.copy(meta.dir().resolve(f.name()), next.resolve(f.name()));
    }
    Files.writeString(root.resolve("CURRENT"), "db-1\n", StandardCharsets.US_ASCII);
    follower = KvStateMachine.open(root, OPTS);
    assertThat(follower.appliedIndex()).isEqualTo(2000);
    assertThat(follower.digest()).isEqualTo(leader.digest());
    assertThat(names(root)).containsExactly("CURRENT", "LOCK", "db-1");
  }

  @Test
  void installTwiceReplacesTheDatabaseAgain() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    follower.installSnapshot(meta.dir());
    follower.installSnapshot(meta.dir());  // installing twice is fine: db-2 replaces db-1
    assertThat(names(tmp.resolve("follower"))).containsExactly("CURRENT", "LOCK", "db-2");
    assertThat(follower.get(b("k1")).map(Cmds::str)).isEqualTo(leader.get(b("k1")).map(Cmds::str));
    assertThat(follower.digest()).isEqualTo(leader.digest());
  }

  @Test
  void archiveRoundTripInstallsTheSameState() throws Exception {
    SnapshotMeta meta = leader.createSnapshot(tmp.resolve("snap"));
    byte[] archive = SnapshotArchive.pack(meta);
    SnapshotMeta unpacked = SnapshotArchive.unpack(archive, tmp.resolve("unpacked"));
    follower.installSnapshot(unpacked.dir());
    assertThat(follower.appliedIndex()).isEqualTo(2000);
    assertThat(follower.digest()).isEqualTo(leader.digest());
  }

  @Test
  void damagedArchivesAreRefusedAndLeaveNothingBehind() throws Exception {
    byte[] archive = SnapshotArchive.pack(leader.createSnapshot(tmp.resolve("snap")));
    byte[] truncated = java.util.Arrays.copyOf(archive, archive.length / 2);
    assertThatThrownBy(() -> SnapshotArchive.unpack(truncated, tmp.resolve("t")))
        .isInstanceOf(SnapshotException.class);
    assertThat(tmp.resolve("t")).doesNotExist();
    byte[] flipped = archive.clone();
    flipped[archive.length / 2] ^= 0x40;
    assertThatThrownBy(() -> SnapshotArchive.unpack(flipped, tmp.resolve("f")))
        .isInstanceOf(IOException.class);
    assertThat(tmp.resolve("f")).doesNotExist();
    byte[] garbage = "not an archive".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> SnapshotArchive.unpack(garbage, tmp.resolve("g")))
        .isInstanceOf(SnapshotException.class);
    assertThat(follower.appliedIndex()).isEqualTo(10);
  }
}
