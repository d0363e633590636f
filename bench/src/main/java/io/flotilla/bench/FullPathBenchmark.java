package io.flotilla.bench;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.server.node.FlotillaNode;
import io.flotilla.server.node.NodeConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole write path in one JVM: three {@link FlotillaNode}s (real WALs with fsync, RocksDB
 * state machines, the peer port over loopback TCP on 46600-46622) and the Java client. One
 * operation is one put of a 256-byte value, from the client's call to its acknowledgement:
 * proposed on the leader, appended and forced on a majority, committed and applied to the
 * leader's RocksDB. Keys cycle over 100,000.
 *
 * <p>{@code puts}: up to {@code inflight} puts outstanding (throughput). {@code putLatency}: one
 * at a time (sample mode, ms per put). Unlike {@code bin/flotilla bench} the nodes share this
 * JVM (and its GC) with the client, so read it as a stage figure, not as the product's.
 */
@State(Scope.Benchmark)
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g"})
public class FullPathBenchmark {
  static final int BASE_PORT = 46600;
  private static final int KEYS = 100_000;

  @Param({"64"})
  public int inflight;

  private final byte[] value = RawFile.randomBytes(256, 17);
  private final FlotillaNode[] nodes = new FlotillaNode[3];
  private Path dir;
  private FlotillaClient client;
  private Semaphore window;
  private long n;
  private final java.util.concurrent.atomic.AtomicLong failures = new java.util.concurrent.atomic.AtomicLong();

  @Setup(Level.Trial)
  public void start() throws IOException, InterruptedException {
    dir = TempDirs.create(TempDirs.defaultParent(), "flotilla-fullpath-");
    Map<Long, NodeConfig.Member> members = new HashMap<>();
    for (int i = 1; i <= 3; i++) {
      members.put((long) i, new NodeConfig.Member(endpoint(i, 1), endpoint(i, 0)));
    }
    for (int i = 1; i <= 3; i++) {
      nodes[i - 1] = FlotillaNode.start(new NodeConfig(i, dir.resolve("node" + i), endpoint(i, 0), endpoint(i, 1),
          endpoint(i, 2), members, 100));
    }
    client = new FlotillaClient(ClientOptions.of(BASE_PORT_ENDPOINTS).withRequestTimeout(Duration.ofSeconds(10)));
    awaitLeader();
    window = new Semaphore(inflight);
  }

  private static final String BASE_PORT_ENDPOINTS = "127.0.0.1:" + BASE_PORT + ",127.0.0.1:" + (BASE_PORT + 10)
      + ",127.0.0.1:" + (BASE_PORT + 20);

  private static Endpoint endpoint(int node, int offset) {
    return new Endpoint("127.0.0.1", BASE_PORT + 10 * (node - 1) + offset);
  }

  private void awaitLeader() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        client.put("ready".getBytes(StandardCharsets.UTF_8), value).join();
        return;
      } catch (CompletionException e) {
        if (!(e.getCause() instanceof FlotillaException) || System.nanoTime() > deadline) {
          throw e;
        }
        new java.util.concurrent.CountDownLatch(1).await(100, TimeUnit.MILLISECONDS); // still electing
      }
    }
  }

  @TearDown(Level.Iteration)
  public void drain() {
    window.acquireUninterruptibly(inflight);
    window.release(inflight);
  }

  @TearDown(Level.Trial)
  public void stop() throws IOException {
    if (failures.get() > 0) {
      System.out.println("FullPathBenchmark: " + failures.get() + " puts failed (they count as operations above)");
    }
    client.close();
    for (FlotillaNode node : nodes) {
      if (node != null) {
        node.close();
      }
    }
    TempDirs.deleteRecursively(dir);
  }

  private byte[] nextKey() {
    return ("key-" + (n++ % KEYS)).getBytes(StandardCharsets.UTF_8);
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  public void puts() throws InterruptedException {
    window.acquire();
    client.put(nextKey(), value).whenComplete((v, e) -> {
      if (e != null) {
        failures.incrementAndGet();
      }
      window.release();
    });
  }

  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  public void putLatency() {
    client.put(nextKey(), value).join();
  }
}
