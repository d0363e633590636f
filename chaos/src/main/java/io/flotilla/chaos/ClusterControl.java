package io.flotilla.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.server.local.LocalCluster;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The chaos run's hands on its cluster: the processes (through {@link NodeProcesses}) and each
 * node's admin port ({@code /status}, and {@code /fault} for network faults). Every HTTP call has
 * a short timeout: a paused node must not stall the nemesis.
 */
final class ClusterControl {
  private static final ObjectMapper JSON = new ObjectMapper();
  final NodeProcesses cluster;
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(1)).build();

  ClusterControl(NodeProcesses cluster) {
    this.cluster = cluster;
  }

  ClusterControl(LocalCluster cluster) {
    this(new LocalProcesses(cluster));
  }

  int nodes() {
    return cluster.nodes();
  }

  /** The node's {@code /status}, or null when it does not answer within 2 s. */
  JsonNode status(int id) {
    if (!cluster.alive(id)) {
      return null;
    }
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
              URI.create("http://" + cluster.admin(id) + "/status"))
          .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The node that says it leads, or 0. */
  int leader() {
    for (int i = 1; i <= nodes(); i++) {
      JsonNode s = status(i);
      if (s != null && "LEADER".equals(s.path("role").asText())) {
        return i;
      }
    }
    return 0;
  }

  /** Node {@code id} drops every frame it sends to {@code to} (empty: heals its side). */
  void dropFramesTo(int id, Collection<Integer> to) throws IOException, InterruptedException {
    String ids = to.stream().sorted().map(String::valueOf).collect(Collectors.joining(","));
    postFault(id, "drop-to=" + ids);
  }

  /** Node {@code id}'s Raft loop stops for {@code millis} (its network threads go on queueing). */
  void stallRaftLoop(int id, long millis) throws IOException, InterruptedException {
    postFault(id, "stall-raft-ms=" + millis);
  }

  private void postFault(int id, String query) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://" + cluster.admin(id) + "/fault?" + query))
        .timeout(Duration.ofSeconds(2)).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("node " + id + " refused the fault (" + r.statusCode() + "): "
          + r.body().trim());
    }
  }

  /**
   * Heals every node's drops; retries a node that does not answer (it must not stay cut).
   * Returns the nodes that could not be healed in time (empty: all healed).
   */
  List<Integer> healNetwork(Duration within) throws InterruptedException {
    if (!cluster.acceptsFaultRequests()) {
      return List.of(); // nothing was dropped through /fault
    }
    long deadline = System.nanoTime() + within.toNanos();
    List<Integer> failed = new java.util.ArrayList<>();
    for (int i = 1; i <= nodes(); i++) {
      while (cluster.alive(i)) {
        try {
          dropFramesTo(i, List.of());
          break;
        } catch (IOException e) {
          if (System.nanoTime() > deadline) {
            failed.add(i);
            break;
          }
          Thread.sleep(200); // retry pacing against a node that is not answering yet
        }
      }
    }
    return failed;
  }

  /** Waits until some node says it leads; returns it, or 0 on timeout. */
  int awaitLeader(Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      int l = leader();
      if (l != 0) {
        return l;
      }
      Thread.sleep(100); // polling remote processes
    }
    return 0;
  }

  /**
   * Waits until every node runs, answers {@code /status}, and one of them leads. Returns the
   * leader, or 0 on timeout.
   */
  int awaitHealthy(Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = true;
      int leader = 0;
      for (int i = 1; i <= nodes() && all; i++) {
        JsonNode s = status(i);
        all = s != null && !"STOPPED".equals(s.path("role").asText());
        if (all && "LEADER".equals(s.path("role").asText())) {
          leader = i;
        }
      }
      if (all && leader != 0) {
        return leader;
      }
      Thread.sleep(100); // polling remote processes: there is no event to wait on
    }
    return 0;
  }

  /** Waits until node {@code id} has applied at least the leader's commit index as of now. */
  boolean awaitCaughtUp(int id, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    long target = -1;
    while (System.nanoTime() < deadline) {
      if (target < 0) {
        int l = leader();
        JsonNode ls = l == 0 ? null : status(l);
        if (ls != null) {
          target = ls.path("commit").asLong();
        }
      }
      JsonNode s = status(id);
      if (target >= 0 && s != null && !"STOPPED".equals(s.path("role").asText())
          && s.path("applied").asLong() >= target) {
        return true;
      }
      Thread.sleep(100); // polling remote processes
    }
    return false;
  }
}
