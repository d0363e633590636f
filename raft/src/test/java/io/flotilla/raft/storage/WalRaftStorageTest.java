package io.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.RecoveryFence;
import io.flotilla.raft.node.InProcessTransport;
import io.flotilla.raft.node.RaftException;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.StateMachine;
import io.flotilla.wal.WalOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalRaftStorageTest {
  @TempDir Path dir;

  private static Entry e(long index, long term, String data) {
    return new Entry(index, term, EntryType.NORMAL, data.getBytes(StandardCharsets.UTF_8));
  }

  /** Cuts the newest segment {@code back} bytes before the end of its data: inside the last record. */
  private static void cutInsideLastRecord(Path dir, int back) throws Exception {
    Path seg;
    try (var files = java.nio.file.Files.list(dir)) {
      seg = files.filter(p -> p.toString().endsWith(".wal")).sorted().reduce((a, b) -> b).orElseThrow();
    }
    byte[] bytes = java.nio.file.Files.readAllBytes(seg);
    int end = bytes.length;
    while (end > 0 && bytes[end - 1] == 0) {
      end--;
    }
    try (var ch = java.nio.channels.FileChannel.open(seg, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(end - back);
    }
  }

  @Test
  void aWalRecoveryCutReachesTheCoreAsAFenceAndLiftingItClearsTheCut() throws Exception {
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      s.persist(new HardState(2, 1, 3), List.of(e(1, 1, "a"), e(2, 1, "b"), e(3, 2, "c"), e(4, 2, "d"),
          e(5, 2, "e")));
    }
    cutInsideLastRecord(dir, 10); // entries 1..5 were one forced write: recovery cuts 1..5 from the damage on
    RecoveryFence fence;
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      fence = s.hardState().fence();
      assertThat(fence.fromIndex()).isEqualTo(5);
      assertThat(fence.untilIndex()).isEqualTo(5);
      assertThat(fence.term()).isEqualTo(2);
      assertThat(s.recoveryFenceAtOpen()).isEqualTo(fence);
      assertThat(s.recoveryFence()).isEqualTo(fence);
      assertThat(s.lastIndex()).isEqualTo(4);

      // The core starts behind the fence, in a term after the cut's; its first Ready persists both.
      RaftCore core = new RaftCore(RaftConfig.of(1, 1, Set.of(1L, 2L, 3L), new SplittableRandom(1)), s, s);
      assertThat(core.hardState().fence()).isEqualTo(fence);
      assertThat(core.term()).isEqualTo(3);
      var rd = core.ready();
      s.persist(rd.hardState(), rd.entries());
      core.advance(rd);
      assertThat(s.recoveryFence()).as("still up: nothing of term 3 in the log yet").isEqualTo(fence);
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.hardState()).isEqualTo(new HardState(3, 0, 3, fence));
      assertThat(s.recoveryFenceAtOpen()).isEqualTo(fence);
      // The core lifts it (an entry of term 3 from term 3's leader): the change is saved.
      s.persist(new HardState(3, 0, 3), List.of(e(5, 3, "new")));
      assertThat(s.recoveryFence()).isEqualTo(RecoveryFence.NONE);
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.hardState()).isEqualTo(new HardState(3, 0, 3));
      assertThat(s.recoveryFenceAtOpen()).isEqualTo(RecoveryFence.NONE);
      assertThat(s.wal().hardState().load().cut()).isEqualTo(io.flotilla.wal.RecoveryCut.NONE);
    }
  }

  @Test
  void compactionKeepsTheSnapshotAndTheSuffixAcrossAReopen() throws Exception {
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      List<Entry> log = new ArrayList<>();
      for (int i = 1; i <= 10; i++) {
        log.add(e(i, i <= 5 ? 1 : 2, "v" + i));
      }
      s.persist(new HardState(2, 1, 8), log);
      s.createSnapshot(6, "state@6".getBytes(StandardCharsets.UTF_8));
      assertThat(s.firstIndex()).isEqualTo(7);
      assertThat(s.term(6)).isEqualTo(2);
      s.createSnapshot(4, new byte[0]); // older than the current one: ignored
      assertThat(s.snapshot().index()).isEqualTo(6);
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.firstIndex()).isEqualTo(7);
      assertThat(s.lastIndex()).isEqualTo(10);
      assertThat(s.snapshot()).isEqualTo(new io.flotilla.raft.Snapshot(6, 2, "state@6".getBytes(StandardCharsets.UTF_8)));
      assertThat(s.entries(7, 11, Long.MAX_VALUE)).extracting(Entry::index).containsExactly(7L, 8L, 9L, 10L);
    }
  }

  @Test
  void openingFinishesACompactionThatACrashInterrupted(@TempDir Path other) throws Exception {
    // A crash between writing the snapshot file and cutting the WAL: same log, newer snapshot file.
    List<Entry> log = new ArrayList<>();
    for (int i = 1; i <= 8; i++) {
      log.add(e(i, 1, "v" + i));
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      s.persist(new HardState(1, 1, 8), log);
      s.createSnapshot(5, "state@5".getBytes(StandardCharsets.UTF_8));
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(other))) {
      s.persist(new HardState(1, 1, 8), log);
    }
    java.nio.file.Files.copy(dir.resolve(WalRaftStorage.SNAPSHOT_FILE), other.resolve(WalRaftStorage.SNAPSHOT_FILE));
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(other))) {
      assertThat(s.snapshot().index()).isEqualTo(5);
      assertThat(s.firstIndex()).isEqualTo(6);
      assertThat(s.lastIndex()).isEqualTo(8);
      assertThat(s.term(5)).isEqualTo(1);
    }
  }

  @Test
  void anInstalledSnapshotReplacesAConflictingLog() throws Exception {
    io.flotilla.raft.Snapshot snap = new io.flotilla.raft.Snapshot(20, 3, "leader-state".getBytes(StandardCharsets.UTF_8));
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      List<Entry> log = new ArrayList<>();
      for (int i = 1; i <= 25; i++) {
        log.add(e(i, 1, "stale" + i));
      }
      s.persist(new HardState(1, 0, 2), log);
      s.persist(snap, new HardState(3, 0, 20), List.of(e(21, 3, "next")));
      assertThat(s.firstIndex()).isEqualTo(21);
      assertThat(s.lastIndex()).isEqualTo(21);
      assertThat(s.term(20)).isEqualTo(3);
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.snapshot()).isEqualTo(snap);
      assertThat(s.firstIndex()).isEqualTo(21);
      assertThat(s.entries(21, 22, Long.MAX_VALUE)).containsExactly(e(21, 3, "next"));
      assertThat(s.hardState().commitIndex()).isGreaterThanOrEqualTo(20);
    }
  }

  @Test
  void entriesAndTheirTypesSurviveAReopen() throws Exception {
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.firstIndex()).isEqualTo(1);
      assertThat(s.lastIndex()).isZero();
      assertThat(s.term(0)).isZero();
      s.persist(new HardState(1, 1, 0), List.of(Entry.noop(1, 1), e(2, 1, "a"), e(3, 1, "b")));
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.lastIndex()).isEqualTo(3);
      assertThat(s.entries(1, 4, Long.MAX_VALUE))
          .containsExactly(Entry.noop(1, 1), e(2, 1, "a"), e(3, 1, "b"));
      assertThat(s.hardState()).isEqualTo(new HardState(1, 1, 0));
    }
  }

  @Test
  void aConflictingSuffixIsReplacedDurably() throws Exception {
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      List<Entry> first = new ArrayList<>();
      for (int i = 1; i <= 10; i++) {
        first.add(e(i, 1, "old" + i));
      }
      s.persist(null, first);
      s.persist(new HardState(2, 0, 5), List.of(e(6, 2, "new6"), e(7, 2, "new7")));
      assertThat(s.lastIndex()).isEqualTo(7);
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.lastIndex()).isEqualTo(7);
      assertThat(s.entries(5, 8, Long.MAX_VALUE))
          .containsExactly(e(5, 1, "old5"), e(6, 2, "new6"), e(7, 2, "new7"));
      assertThat(s.term(6)).isEqualTo(2);
    }
  }

  @Test
  void termAndVoteArePersistedAndACommitOnlyChangeIsNot() throws Exception {
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      s.persist(new HardState(3, 2, 0), List.of(e(1, 3, "x")));
      s.persist(new HardState(3, 2, 1), List.of()); // commit only: kept in memory
      assertThat(s.hardState()).isEqualTo(new HardState(3, 2, 1));
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.hardState().term()).isEqualTo(3);
      assertThat(s.hardState().votedFor()).isEqualTo(2);
      assertThat(s.hardState().commitIndex()).isZero();
    }
  }

  /** Three real nodes on real logs (fsync on) agree, stop, restart from disk, and go on. */
  @Test
  void aClusterOnTheWalSurvivesAFullRestart() throws Exception {
    List<String> firstRun = runCluster(0, 10);
    assertThat(firstRun).contains("cmd0", "cmd9");
    List<String> secondRun = runCluster(10, 20);
    // The restarted state machines replay the old commands from the logs, then the new ones.
    assertThat(secondRun).contains("cmd0", "cmd9", "cmd10", "cmd19");
    assertThat(secondRun.indexOf("cmd9")).isLessThan(secondRun.indexOf("cmd10"));
  }

  private List<String> runCluster(int from, int to) throws Exception {
    InProcessTransport transport = new InProcessTransport();
    List<RaftNode> nodes = new ArrayList<>();
    List<WalRaftStorage> stores = new ArrayList<>();
    List<List<String>> applied = new ArrayList<>();
    try {
      for (long id = 1; id <= 3; id++) {
        WalRaftStorage store = WalRaftStorage.open(WalOptions.defaults(dir.resolve("n" + id)));
        stores.add(store);
        List<String> log = new CopyOnWriteArrayList<>();
        applied.add(log);
        StateMachine sm = entry -> {
          if (entry.type() == EntryType.NORMAL) {
            log.add(new String(entry.data(), StandardCharsets.UTF_8));
          }
        };
        RaftNode node = new RaftNode(RaftConfig.of(1, id, Set.of(1L, 2L, 3L),
            new SplittableRandom(id + from)), store, transport, sm, 10);
        transport.register(node);
        nodes.add(node);
      }
      nodes.forEach(RaftNode::start);
      for (int i = from; i < to; i++) {
        byte[] cmd = ("cmd" + i).getBytes(StandardCharsets.UTF_8);
        proposeWithRetry(nodes, cmd);
      }
      String last = "cmd" + (to - 1);
      await().atMost(Duration.ofSeconds(30))
          .until(() -> applied.stream().allMatch(l -> l.contains(last)));
      for (List<String> l : applied) {
        assertThat(l.subList(0, l.indexOf(last) + 1))
            .isEqualTo(applied.get(0).subList(0, applied.get(0).indexOf(last) + 1));
      }
      return List.copyOf(applied.get(0));
    } finally {
      nodes.forEach(RaftNode::close);
      for (WalRaftStorage s : stores) {
        s.close();
      }
    }
  }

  private static void proposeWithRetry(List<RaftNode> nodes, byte[] cmd) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      RaftNode leader = await().pollInterval(Duration.ofMillis(5)).atMost(Duration.ofSeconds(30))
          .until(() -> nodes.stream().filter(RaftNode::isLeader).findFirst().orElse(null),
              Objects::nonNull);
      try {
        leader.propose(cmd).get(5, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException e) {
        assertThat(e.getCause()).isInstanceOf(RaftException.class);
      } catch (TimeoutException e) {
        // lost to a leadership change: retry (at-least-once is fine for this test)
      }
      assertThat(System.nanoTime()).as("retry deadline").isLessThan(deadline);
    }
  }

  @Test
  void theSnapshotFileKeepsTheConfigurationAndRefusesTheOldFormat() throws Exception {
    io.flotilla.raft.quorum.Configuration joint = new io.flotilla.raft.quorum.Configuration(
        java.util.Set.of(1L, 2L, 4L), java.util.Set.of(1L, 2L, 3L), java.util.Set.of(5L), java.util.Set.of(3L));
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      List<Entry> log = new ArrayList<>();
      for (int i = 1; i <= 6; i++) {
        log.add(e(i, 1, "v" + i));
      }
      s.persist(new HardState(1, 1, 6), log);
      s.createSnapshot(4, joint, "state@4".getBytes(StandardCharsets.UTF_8));
    }
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      assertThat(s.snapshot().configuration()).isEqualTo(joint);
    }
    // A version 1 file (magic, index, term, length, data, crc: no configuration) is refused loudly.
    java.nio.ByteBuffer v1 = java.nio.ByteBuffer.allocate(4 + 8 + 8 + 4 + 4);
    v1.putInt(0x534E4150).putLong(4).putLong(1).putInt(0).putInt(0);
    java.nio.file.Files.write(dir.resolve(WalRaftStorage.SNAPSHOT_FILE), v1.array());
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> WalRaftStorage.open(WalOptions.defaults(dir)))
        .hasMessageContaining("version 1");
  }

  @Test
  void compactingWithoutAConfigurationFindsItInTheLog() throws Exception {
    io.flotilla.raft.quorum.Configuration c = new io.flotilla.raft.quorum.Configuration(java.util.Set.of(1L, 2L),
        java.util.Set.of(), java.util.Set.of(3L), java.util.Set.of());
    try (WalRaftStorage s = WalRaftStorage.open(WalOptions.defaults(dir))) {
      byte[] conf = new io.flotilla.raft.ConfEntry(io.flotilla.raft.ConfChange.of(io.flotilla.raft.ConfChange.addLearner(3)),
          false, c).encode();
      s.persist(new HardState(1, 1, 4), List.of(e(1, 1, "a"), new Entry(2, 1, EntryType.CONF_CHANGE, conf),
          e(3, 1, "b"), e(4, 1, "c")));
      s.createSnapshot(1, new byte[0]);
      assertThat(s.snapshot().configuration().isEmpty()).isTrue();
      s.createSnapshot(3, new byte[0]);
      assertThat(s.snapshot().configuration()).isEqualTo(c);
    }
  }
}
