package io.flotilla.server.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flotilla.checker.History;
import io.flotilla.checker.HistoryEvent;
import io.flotilla.checker.LinearizabilityChecker;
import io.flotilla.checker.Model;
import io.flotilla.checker.Operation;
import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.raft.DropReason;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14 item 6: random and mutated peer frames ({@link PeerFrameFuzzer}) sent to every node of
 * a real three-node cluster for a bounded time while clients write and read: no node stops, the
 * cluster keeps committing (clients get writes acknowledged during the fuzzing, and a final write
 * reaches every node), the history is linearizable, and the nodes count what they dropped.
 *
 * <p>Seeded: the frames are a function of the seed (the cluster's timing is not).
 * Rerun: {@code ./mvnw -o -B -pl server -am test -Dtest=PeerFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dflotilla.seed=N}; {@code -Dflotilla.fuzz.seconds=S} runs longer (default 15).
 */
class PeerFuzzTest {
  private static final long SEED = Long.getLong("flotilla.seed", 20_140_006L);
  private static final long SECONDS = Long.getLong("flotilla.fuzz.seconds", 15);
  private static final long MIN_WRITES = 50;

  @TempDir Path dir;
  private final Map<Long, NodeConfig.Member> members = new HashMap<>();
  private final Map<Long, int[]> ports = new HashMap<>();
  private final FlotillaNode[] nodes = new FlotillaNode[3];
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void stopAll() throws Exception {
    for (FlotillaNode n : nodes) {
      if (n != null) {
        n.close();
      }
    }
  }

  @Test
  void randomAndMutatedPeerFramesStopNoNodeAndLoseNoWrite() throws Exception {
    String rerun = "seed " + SEED + "; rerun: ./mvnw -o -B -pl server -am test -Dtest=PeerFuzzTest"
        + " -Dsurefire.failIfNoSpecifiedTests=false -Dflotilla.seed=" + SEED;
    System.out.println("PeerFuzzTest " + rerun);
    for (long id = 1; id <= 3; id++) {
      int[] p = {TestPorts.freePort(), TestPorts.freePort(), TestPorts.freePort()};
      ports.put(id, p);
      members.put(id, new NodeConfig.Member(new Endpoint("127.0.0.1", p[1]), new Endpoint("127.0.0.1", p[0])));
    }
    for (long id = 1; id <= 3; id++) {
      int[] p = ports.get(id);
      nodes[(int) id - 1] = FlotillaNode.start(new NodeConfig(id, dir.resolve("n" + id),
          new Endpoint("127.0.0.1", p[0]), new Endpoint("127.0.0.1", p[1]), new Endpoint("127.0.0.1", p[2]),
          members, 50, NodeConfig.DEFAULT_SNAPSHOT_ENTRIES, 0));
    }
    History history = new History(null, System.nanoTime());
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong okWrites = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    List<PeerFrameFuzzer> fuzzers = new ArrayList<>();
    SplittableRandom seeds = new SplittableRandom(SEED);
    for (int i = 0; i < 3; i++) {
      PeerFrameFuzzer f = new PeerFrameFuzzer(nodes[i], i + 1, ports.get((long) i + 1)[1], seeds.split(), stop);
      fuzzers.add(f);
      threads.add(new Thread(f, "fuzz-peer-" + (i + 1)));
      long clientSeed = seeds.nextLong();
      threads.add(new Thread(() -> clientLoop(history, clientSeed, stop, okWrites), "fuzz-client-" + i));
    }
    threads.forEach(Thread::start);
    // Fuzz for the set time and until the clients have had writes acknowledged under fire: the
    // cluster must keep committing. Slow machines take longer; only a cluster that cannot commit
    // MIN_WRITES in minutes fails here.
    long start = System.nanoTime();
    await().alias("fuzzing for " + SECONDS + " s with " + MIN_WRITES + " writes acknowledged; " + rerun)
        .atMost(Duration.ofSeconds(SECONDS + 180)).pollInterval(Duration.ofMillis(200))
        .until(() -> System.nanoTime() - start >= SECONDS * 1_000_000_000L && okWrites.get() >= MIN_WRITES);
    stop.set(true);
    for (Thread t : threads) {
      t.join(60_000);
      assertThat(t.isAlive()).as("%s finished; %s", t.getName(), rerun).isFalse();
    }
    long sent = fuzzers.stream().mapToLong(PeerFrameFuzzer::framesSent).sum();
    System.out.println("PeerFuzzTest sent " + sent + " frames, " + okWrites.get() + " writes acknowledged; "
        + fuzzers.stream().map(PeerFrameFuzzer::summary).toList());

    // No node stopped, and the cluster still commits: a final write everyone applies.
    for (int i = 0; i < 3; i++) {
      assertThat(get(i, "/health")).as("node %d healthy; %s", i + 1, rerun).isEqualTo("ok\n");
    }
    try (FlotillaClient c = client()) {
      c.blocking().put("fuzz-final".getBytes(UTF_8), "done".getBytes(UTF_8));
      await().atMost(Duration.ofSeconds(60)).until(() -> nodes[0].appliedIndex() == nodes[1].appliedIndex()
          && nodes[1].appliedIndex() == nodes[2].appliedIndex()
          && Arrays.equals(nodes[0].digest(), nodes[1].digest()) && Arrays.equals(nodes[1].digest(), nodes[2].digest()));
    }

    // Linearizable, with the checker of the chaos runs.
    List<Operation> ops = Operation.pair(history.events());
    LinearizabilityChecker.Result result = new LinearizabilityChecker().check(ops, k -> new Model.Register());
    assertThat(result.failures()).as("non-linearizable keys; %s", rerun).isEmpty();

    // What was dropped was counted, per reason, on the nodes' /metrics (not vacuous: every kind
    // of bad frame reached a node and was refused for the reason it was built to have).
    Map<String, Long> dropped = new HashMap<>();
    for (int i = 0; i < 3; i++) {
      Matcher m = Pattern.compile("flotilla_peer_dropped_total\\{reason=\"([a-z_]+)\",?\\} ([0-9.E]+)")
          .matcher(get(i, "/metrics"));
      while (m.find()) {
        dropped.merge(m.group(1), (long) Double.parseDouble(m.group(2)), Long::sum);
      }
    }
    System.out.println("PeerFuzzTest dropped: " + dropped);
    for (DropReason r : List.of(DropReason.UNDECODABLE, DropReason.MISROUTED, DropReason.BAD_SENDER,
        DropReason.BAD_INDEX, DropReason.ENTRIES_NOT_CONTIGUOUS, DropReason.ENTRY_TERM, DropReason.NOT_A_MEMBER,
        DropReason.NOT_FROM_LEADER, DropReason.BEYOND_LOG, DropReason.SECOND_LEADER)) {
      assertThat(dropped.getOrDefault(r.tag(), 0L)).as("dropped as %s; %s", r, rerun).isPositive();
    }
  }

  private String endpoints() {
    StringBuilder sb = new StringBuilder();
    for (long id = 1; id <= 3; id++) {
      sb.append(sb.length() == 0 ? "" : ",").append("127.0.0.1:").append(ports.get(id)[0]);
    }
    return sb.toString();
  }

  private FlotillaClient client() {
    return new FlotillaClient(ClientOptions.of(endpoints()).withRequestTimeout(Duration.ofSeconds(10)));
  }

  private String get(int node, String path) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports.get((long) node + 1)[2] + path))
        .timeout(Duration.ofSeconds(20)).build();
    return http.send(req, HttpResponse.BodyHandlers.ofString()).body();
  }

  /**
   * One client: puts of unique values and LINEARIZABLE gets on a few keys, recorded as the chaos
   * runs record them (a write whose outcome is unknown is {@code info}, and its process retires).
   */
  private void clientLoop(History h, long seed, AtomicBoolean stop, AtomicLong okWrites) {
    SplittableRandom r = new SplittableRandom(seed);
    try (FlotillaClient c = client()) {
      int process = h.newProcess();
      long n = 0;
      while (!stop.get()) {
        // Fresh keys now and then keep each key's history short for the checker.
        String key = "fuzz-" + (n++ / 150) + "-" + r.nextInt(3);
        byte[] k = key.getBytes(UTF_8);
        boolean put = r.nextInt(10) < 6;
        long value = seed * 1_000_000 + n;
        h.record(process, HistoryEvent.INVOKE, put ? "put" : "get", key, put ? value : null,
            put ? null : "LINEARIZABLE");
        String type;
        Object result = null;
        try {
          if (put) {
            c.put(k, Long.toString(value).getBytes(UTF_8)).get();
            okWrites.incrementAndGet();
          } else {
            Optional<byte[]> v = c.get(k, Consistency.LINEARIZABLE).get();
            result = v.map(b -> Long.parseLong(new String(b, UTF_8))).orElse(null);
          }
          type = HistoryEvent.OK;
        } catch (ExecutionException e) {
          boolean unknown = put && (!(e.getCause() instanceof FlotillaException fe) || fe.outcomeUnknown());
          type = unknown ? HistoryEvent.INFO : HistoryEvent.FAIL;
        }
        h.record(process, type, put ? "put" : "get", key, result, put ? null : "LINEARIZABLE");
        if (type.equals(HistoryEvent.INFO)) {
          process = h.newProcess();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
