package io.flotilla.raft.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RecoveryFence;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.node.InProcessTransport;
import io.flotilla.raft.node.RaftException;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.RaftScheduler;
import io.flotilla.raft.node.StateMachine;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalListener;
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
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many groups' Raft storage over one node's shared write-ahead log. */
class SharedWalRaftStorageTest {
  @TempDir Path dir;

  private static Entry e(long index, long term, String data) {
    return new Entry(index, term, EntryType.NORMAL, data.getBytes(StandardCharsets.UTF_8));
  }

  private static List<Entry> run(long from, long to, long term, String tag) {
    List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(e(i, term, tag + i));
    }
    return out;
  }

  @Test
  void eachGroupKeepsItsOwnLogHardStateAndSnapshotAcrossAReopen() throws Exception {
    Path walDir = dir.resolve("wal");
    Path snaps = dir.resolve("snapshots");
    try (Wal wal = Wal.open(WalOptions.shared(walDir))) {
      List<WalRaftStorage> groups = new ArrayList<>();
      for (long g = 1; g <= 8; g++) {
        groups.add(WalRaftStorage.open(wal, g, snaps));
      }
      for (int k = 0; k < 8; k++) {
        WalRaftStorage s = groups.get(k);
        long g = k + 1;
        s.persist(new HardState(g, 1, 0), run(1, 10, g, "g" + g + "-"));
      }
      groups.get(1).persist(new HardState(3, 2, 5), run(6, 7, 3, "new-")); // a conflicting suffix
      groups.get(2).createSnapshot(6, "state-3@6".getBytes(StandardCharsets.UTF_8));
      groups.get(3).persist(new Snapshot(40, 4, "leader".getBytes(StandardCharsets.UTF_8)),
          new HardState(4, 0, 40), List.of(e(41, 4, "after")));
      for (WalRaftStorage s : groups) {
        s.close(); // a shared log stays open for the others
      }
      assertThat(wal.group(1).lastIndex()).isEqualTo(10);
    }
    try (Wal wal = Wal.open(WalOptions.shared(walDir).withCacheBytes(0))) {
      for (long g = 1; g <= 8; g++) {
        WalRaftStorage s = WalRaftStorage.open(wal, g, snaps);
        switch ((int) g) {
          case 2 -> {
            assertThat(s.lastIndex()).isEqualTo(7);
            assertThat(s.entries(5, 8, Long.MAX_VALUE)).containsExactly(e(5, 2, "g2-5"), e(6, 3, "new-6"),
                e(7, 3, "new-7"));
            assertThat(s.hardState()).isEqualTo(new HardState(3, 2, 5));
          }
          case 3 -> {
            assertThat(s.firstIndex()).isEqualTo(7);
            assertThat(s.snapshot().data()).isEqualTo("state-3@6".getBytes(StandardCharsets.UTF_8));
            assertThat(s.term(6)).isEqualTo(3);
          }
          case 4 -> {
            assertThat(s.snapshot().index()).isEqualTo(40);
            assertThat(s.firstIndex()).isEqualTo(41);
            assertThat(s.entries(41, 42, Long.MAX_VALUE)).containsExactly(e(41, 4, "after"));
            assertThat(s.hardState().commitIndex()).isGreaterThanOrEqualTo(40);
          }
          default -> {
            assertThat(s.entries(1, 11, Long.MAX_VALUE)).isEqualTo(run(1, 10, g, "g" + g + "-"));
            assertThat(s.hardState()).isEqualTo(new HardState(g, 1, 0));
          }
        }
        assertThat(s.recoveryFenceAtOpen()).isEqualTo(RecoveryFence.NONE);
      }
    }
  }

  /**
   * A recovery cut in a shared log fences exactly the groups whose records it cut: the last write
   * was group 2's alone, so group 2 opens behind a fence and groups 1 and 3 do not.
   */
  @Test
  void aCutOfOneGroupsRecordsFencesThatGroupOnly() throws Exception {
    Path walDir = dir.resolve("wal");
    try (Wal wal = Wal.open(WalOptions.shared(walDir))) {
      for (long g : new long[] {1, 3, 2}) {
        WalRaftStorage s = WalRaftStorage.open(wal, g, dir);
        s.persist(new HardState(2, g, 0), run(1, 4, 2, "g" + g + "-"));
      }
      for (long g : new long[] {1, 3, 2}) {
        WalRaftStorage.open(wal, g, dir).persist(null, run(5, 5, 2, "g" + g + "-"));
      }
    }
    flipLastByte(walDir); // inside group 2's entry 5, the last record of the last forced write
    RecoveryFence fence;
    try (Wal wal = Wal.open(WalOptions.shared(walDir))) {
      WalRaftStorage two = WalRaftStorage.open(wal, 2, dir);
      fence = two.recoveryFenceAtOpen();
      assertThat(fence.isUp()).isTrue();
      assertThat(fence.fromIndex()).isEqualTo(5);
      assertThat(fence.term()).isEqualTo(2);
      assertThat(two.lastIndex()).isEqualTo(4);
      for (long g : new long[] {1, 3}) {
        WalRaftStorage other = WalRaftStorage.open(wal, g, dir);
        assertThat(other.recoveryFenceAtOpen()).isEqualTo(RecoveryFence.NONE);
        assertThat(other.lastIndex()).isEqualTo(5);
      }
      // The core lifts it once an entry of a later term is in the log: the change is saved.
      two.persist(new HardState(3, 0, 4), List.of(e(5, 3, "from-the-new-leader")));
      assertThat(two.recoveryFence()).isEqualTo(RecoveryFence.NONE);
    }
    try (Wal wal = Wal.open(WalOptions.shared(walDir))) {
      WalRaftStorage two = WalRaftStorage.open(wal, 2, dir);
      assertThat(two.recoveryFenceAtOpen()).isEqualTo(RecoveryFence.NONE);
      assertThat(two.hardState()).isEqualTo(new HardState(3, 0, 4));
      assertThat(two.entries(5, 6, Long.MAX_VALUE)).containsExactly(e(5, 3, "from-the-new-leader"));
    }
  }

  /** Flips the last non-zero byte of the newest segment: the end of its last record's payload. */
  private static void flipLastByte(Path walDir) throws Exception {
    Path seg;
    try (var files = java.nio.file.Files.list(walDir)) {
      seg = files.filter(p -> p.toString().endsWith(".wal")).sorted().reduce((a, b) -> b).orElseThrow();
    }
    byte[] bytes = java.nio.file.Files.readAllBytes(seg);
    int last = bytes.length - 1;
    while (bytes[last] == 0) {
      last--;
    }
    bytes[last] ^= 0x40;
    java.nio.file.Files.write(seg, bytes);
  }

  /** The scheduler's round: every replica's Ready written, then each one's storage synced. */
  @Test
  void aRoundOfManyGroupsIsForcedOnceHoweverManyStoragesSync() throws Exception {
    AtomicInteger forces = new AtomicInteger();
    WalListener counter = (entries, bytes, writeNanos, forceNanos) -> forces.incrementAndGet();
    try (Wal wal = Wal.open(WalOptions.shared(dir), counter)) {
      List<WalRaftStorage> groups = new ArrayList<>();
      for (long g = 1; g <= 64; g++) {
        groups.add(WalRaftStorage.open(wal, g, dir.resolve("snaps")));
      }
      for (long term = 1; term <= 3; term++) {
        int before = forces.get();
        for (WalRaftStorage s : groups) {
          s.append(List.of(e(term, term, "x")));
          s.setHardState(new HardState(term, 1, term - 1));
        }
        for (WalRaftStorage s : groups) {
          s.sync();
        }
        assertThat(forces.get() - before).as("forces in round %d of 64 groups", term).isOne();
      }
    }
  }

  /** Three nodes, four groups each, every node's groups on one shared log and one scheduler. */
  @Test
  void groupsSharingEachNodesLogAgreeStopAndRestartFromDisk() throws Exception {
    List<List<String>> first = runCluster(0, 8);
    List<List<String>> second = runCluster(8, 16);
    for (int g = 0; g < 4; g++) {
      String tag = "g" + g + "-";
      assertThat(first.get(g)).contains("g" + g + "-cmd0", "g" + g + "-cmd7");
      assertThat(second.get(g)).contains("g" + g + "-cmd0", "g" + g + "-cmd7", "g" + g + "-cmd15");
      assertThat(second.get(g).indexOf("g" + g + "-cmd7")).isLessThan(second.get(g).indexOf("g" + g + "-cmd8"));
      assertThat(second.get(g)).allMatch(c -> c.startsWith(tag));
    }
  }

  /** Returns, per group, what node 1's state machine applied. */
  private List<List<String>> runCluster(int from, int to) throws Exception {
    int groups = 4;
    List<InProcessTransport> transports = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      transports.add(new InProcessTransport());
    }
    List<RaftScheduler> schedulers = new ArrayList<>();
    List<Wal> wals = new ArrayList<>();
    List<List<RaftNode>> byGroup = new ArrayList<>();
    List<List<List<String>>> applied = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      byGroup.add(new ArrayList<>());
      applied.add(new ArrayList<>());
    }
    try {
      for (long id = 1; id <= 3; id++) {
        RaftScheduler scheduler = new RaftScheduler("n" + id, 1, 10);
        schedulers.add(scheduler);
        Wal wal = Wal.open(WalOptions.shared(dir.resolve("n" + id).resolve("wal")));
        wals.add(wal);
        for (int g = 0; g < groups; g++) {
          WalRaftStorage storage = WalRaftStorage.open(wal, g + 1, dir.resolve("n" + id).resolve("snaps"));
          List<String> log = new CopyOnWriteArrayList<>();
          applied.get(g).add(log);
          StateMachine sm = entry -> {
            if (entry.type() == EntryType.NORMAL) {
              log.add(new String(entry.data(), StandardCharsets.UTF_8));
            }
          };
          RaftNode node = new RaftNode(scheduler, RaftConfig.of(g + 1, id, Set.of(1L, 2L, 3L),
              new SplittableRandom(id * 31 + g + from)), storage, transports.get(g), sm, 10,
              RaftNode.SnapshotPolicy.NEVER);
          transports.get(g).register(node);
          byGroup.get(g).add(node);
        }
      }
      byGroup.forEach(ns -> ns.forEach(RaftNode::start));
      for (int i = from; i < to; i++) {
        for (int g = 0; g < groups; g++) {
          proposeWithRetry(byGroup.get(g), ("g" + g + "-cmd" + i).getBytes(StandardCharsets.UTF_8));
        }
      }
      List<List<String>> out = new ArrayList<>();
      for (int g = 0; g < groups; g++) {
        String last = "g" + g + "-cmd" + (to - 1);
        List<List<String>> logs = applied.get(g);
        await().atMost(Duration.ofSeconds(30)).until(() -> logs.stream().allMatch(l -> l.contains(last)));
        for (List<String> l : logs) {
          assertThat(l.subList(0, l.indexOf(last) + 1))
              .isEqualTo(logs.get(0).subList(0, logs.get(0).indexOf(last) + 1));
        }
        out.add(List.copyOf(logs.get(0)));
      }
      return out;
    } finally {
      byGroup.forEach(ns -> ns.forEach(RaftNode::close));
      schedulers.forEach(RaftScheduler::close);
      for (Wal w : wals) {
        w.close();
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
      } catch (ExecutionException ex) {
        assertThat(ex.getCause()).isInstanceOf(RaftException.class);
      } catch (TimeoutException ex) {
        // lost to a leadership change: retry (at-least-once is fine for this test)
      }
      assertThat(System.nanoTime()).as("retry deadline").isLessThan(deadline);
    }
  }
}
