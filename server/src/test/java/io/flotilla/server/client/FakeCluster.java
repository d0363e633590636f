package io.flotilla.server.client;

import io.flotilla.client.Endpoint;
import io.flotilla.client.proto.CasResult;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.GetResult;
import io.flotilla.client.proto.PutResult;
import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.server.net.ClientPort;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Three real client ports in front of one scripted "cluster": a map, a leader, exactly-once
 * bookkeeping, and switches to misbehave. Lets the client be tested without Raft.
 */
final class FakeCluster implements AutoCloseable {
  final EventLoopGroup group = new NioEventLoopGroup(2);
  final List<ClientPort> ports = new ArrayList<>();
  final AtomicInteger[] received = new AtomicInteger[3];
  final Map<String, String> data = new HashMap<>();
  final Map<Long, Long> lastSequence = new HashMap<>();
  final AtomicInteger applied = new AtomicInteger();

  volatile int leader = 0;
  volatile boolean hints = true;
  /** When set, NOT_LEADER answers point here instead of at the leader (a hint the client cannot use). */
  volatile String hintOverride;
  volatile int unavailableAnswers;
  /** When >= 0, the leader answers every write with this error code (a raw value, maybe unknown). */
  volatile int errorCodeForWrites = -1;
  volatile boolean dropNextWriteResponse;
  volatile boolean silent;
  /**
   * A frozen old leader: this node still handles what it receives as the leader did (a write is
   * applied) but never answers, like a leader SIGSTOPped right after committing. -1: none.
   */
  volatile int frozenNode = -1;
  /** Every write the frozen node received: (client id, sequence) pairs, in order. */
  final List<long[]> frozenWrites = new ArrayList<>();
  /** Client ids the cluster has "forgotten": their writes with sequence > 1 get SESSION_EXPIRED. */
  final java.util.Set<Long> expired = new java.util.HashSet<>();

  FakeCluster() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      int node = i;
      received[i] = new AtomicInteger();
      ports.add(ClientPort.start(new InetSocketAddress("127.0.0.1", 0), group, group,
          r -> handle(node, r), ClientPort.Limits.DEFAULT));
    }
  }

  String endpoints() {
    StringBuilder sb = new StringBuilder();
    for (ClientPort p : ports) {
      sb.append(sb.length() == 0 ? "" : ",").append(endpoint(p));
    }
    return sb.toString();
  }

  static Endpoint endpoint(ClientPort p) {
    return new Endpoint("127.0.0.1", p.localAddress().getPort());
  }

  private synchronized CompletableFuture<Response> handle(int node, Request r) {
    received[node].incrementAndGet();
    if (silent) {
      return new CompletableFuture<>();
    }
    boolean linearizable = !r.hasGet() || r.getGet().getConsistencyValue() == 0;
    if (node == frozenNode) {
      if (!r.hasGet()) {
        frozenWrites.add(new long[] {r.getClientId(), r.getSequence()});
      }
      // Applied before the session expired (expiry is by log index): the expiry does not apply.
      handleAsLeader(node, r, false);
      return new CompletableFuture<>();
    }
    if (node != leader && linearizable) {
      Error.Builder e = Error.newBuilder().setCode(Error.Code.NOT_LEADER).setMessage("not leader");
      if (hints) {
        e.setLeaderHint(hintOverride != null ? hintOverride : endpoint(ports.get(leader)).toString());
      }
      return done(Response.newBuilder().setError(e).build());
    }
    if (unavailableAnswers > 0) {
      unavailableAnswers--;
      return done(Response.newBuilder().setError(Error.newBuilder()
          .setCode(Error.Code.UNAVAILABLE).setMessage("election")).build());
    }
    if (errorCodeForWrites >= 0 && !r.hasGet()) {
      return done(Response.newBuilder().setError(Error.newBuilder()
          .setCodeValue(errorCodeForWrites).setMessage("scripted")).build());
    }
    return handleAsLeader(node, r, true);
  }

  private CompletableFuture<Response> handleAsLeader(int node, Request r, boolean honourExpiry) {
    if (r.hasGet()) {
      String v = data.get(r.getGet().getKey().toStringUtf8());
      GetResult.Builder g = GetResult.newBuilder().setFound(v != null);
      if (v != null) {
        g.setValue(com.google.protobuf.ByteString.copyFromUtf8(v));
      }
      return done(Response.newBuilder().setGet(g).build());
    }
    // A write: at most once per (client id, sequence).
    if (honourExpiry && expired.contains(r.getClientId()) && r.getSequence() > 1) {
      return done(Response.newBuilder().setError(Error.newBuilder()
          .setCode(Error.Code.SESSION_EXPIRED).setMessage("expired")).build());
    }
    if (expired.contains(r.getClientId()) && r.getSequence() == 1) {
      // As a node does: an expired session is gone, and sequence 1 registers it anew.
      expired.remove(r.getClientId());
      lastSequence.remove(r.getClientId());
    }
    Response resp;
    long seen = lastSequence.getOrDefault(r.getClientId(), 0L);
    if (r.getClientId() != 0 && r.getSequence() <= seen) {
      resp = Response.newBuilder().setPut(PutResult.getDefaultInstance()).build();
    } else {
      if (r.getClientId() != 0) {
        lastSequence.put(r.getClientId(), r.getSequence());
      }
      applied.incrementAndGet();
      if (r.hasPut()) {
        data.put(r.getPut().getKey().toStringUtf8(), r.getPut().getValue().toStringUtf8());
        resp = Response.newBuilder().setPut(PutResult.getDefaultInstance()).build();
      } else if (r.hasCas()) {
        String key = r.getCas().getKey().toStringUtf8();
        String cur = data.get(key);
        boolean ok = r.getCas().getExpectAbsent() ? cur == null
            : cur != null && cur.equals(r.getCas().getExpected().toStringUtf8());
        if (ok) {
          data.put(key, r.getCas().getNewValue().toStringUtf8());
          resp = Response.newBuilder().setCas(CasResult.newBuilder().setSwapped(true)).build();
        } else {
          resp = Response.newBuilder().setCas(CasResult.newBuilder().setSwapped(false))
              .setError(Error.newBuilder().setCode(Error.Code.CAS_FAILED)).build();
        }
      } else {
        resp = Response.newBuilder().setError(Error.newBuilder()
            .setCode(Error.Code.INVALID_ARGUMENT).setMessage("fake supports put/cas/get")).build();
      }
    }
    if (dropNextWriteResponse) {
      dropNextWriteResponse = false;
      ClientPort p = ports.get(node);
      group.schedule(p::closeAllConnections, 1, TimeUnit.MILLISECONDS);
      return new CompletableFuture<>();
    }
    return done(resp);
  }

  private static CompletableFuture<Response> done(Response r) {
    return CompletableFuture.completedFuture(r);
  }

  @Override
  public void close() {
    ports.forEach(ClientPort::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
