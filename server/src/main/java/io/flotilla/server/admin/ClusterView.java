package io.flotilla.server.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /cluster}: the cluster as one node sees it, for a dashboard served by any member, a
 * follower included. It takes this node's own overview and asks every other member for its
 * {@code /overview} through that member's admin port, all at once, each bounded by
 * {@value #ASK_MILLIS} ms: a dead or frozen node shows as unreachable within a poll.
 *
 * <p>Where a member's admin port is: {@code /status} lists members' peer and client addresses,
 * not their admin ports, so the conventional layout is assumed (docs/protocol.md): the admin port
 * is the peer port + 1 on the peer's host (client P, peer P+1, admin P+2), as in
 * {@code bin/flotilla local} and the README's examples. A member laid out otherwise shows as
 * unreachable here; its own dashboard still works.
 *
 * <p>Ranges: each member's {@code /status} lists the ranges it holds (docs/ranges.md); they are
 * merged by range id into {@code ranges: [{id, start, end, epochVersion, term, leader, voters,
 * learners, quiesced, replicas: [{node, role, term, leader, commit, applied, quiesced}]}]}. The
 * bounds and replicas come from the member with the newest descriptor (highest epoch version: a
 * member that has not applied a split yet still shows the parent's old end key), the leader from
 * a member that leads it (the highest term if two claim it), else the newest hint.
 */
final class ClusterView {
  static final long ASK_MILLIS = 800;

  private final long self;
  private final HttpClient http;
  private final ObjectMapper json;
  /** The last members list this node's own status gave: used while its status does not answer. */
  private volatile List<Map<String, Object>> lastMembers = List.of();

  /** "http" or "https": how the members' admin ports are reached (all the same: one cluster, one setting). */
  private final String scheme;

  ClusterView(long self, HttpClient http, ObjectMapper json) {
    this(self, http, json, "http");
  }

  ClusterView(long self, HttpClient http, ObjectMapper json, String scheme) {
    this.scheme = scheme;
    this.self = self;
    this.http = http;
    this.json = json;
  }

  CompletableFuture<Map<String, Object>> view(Map<String, Object> own, String ownAdmin, int samples,
      boolean localControl) {
    Map<String, Object> status = asMap(own.get("status"));
    List<Map<String, Object>> members = membersOf(status);
    if (members.isEmpty()) {
      members = lastMembers;
    } else {
      lastMembers = members;
    }
    List<CompletableFuture<Map<String, Object>>> asks = new ArrayList<>();
    for (Map<String, Object> m : members) {
      long id = ((Number) m.get("id")).longValue();
      String admin = id == self ? ownAdmin : adminOf(String.valueOf(m.getOrDefault("peer", "")));
      CompletableFuture<Map<String, Object>> o = id == self ? CompletableFuture.completedFuture(own)
          : ask(admin, samples);
      asks.add(o.thenApply(overview -> node(id, m, admin, overview)));
    }
    if (members.stream().noneMatch(m -> ((Number) m.get("id")).longValue() == self)) {
      asks.add(0, CompletableFuture.completedFuture(node(self, Map.of(), ownAdmin, own)));
    }
    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).thenApply(v -> {
      List<Map<String, Object>> nodes = asks.stream().map(CompletableFuture::join).toList();
      return summary(status, nodes, localControl);
    });
  }

  private Map<String, Object> summary(Map<String, Object> status, List<Map<String, Object>> nodes,
      boolean localControl) {
    Map<String, Object> out = new LinkedHashMap<>();
    long leader = status.get("leader") instanceof Number n ? n.longValue() : 0;
    String role = String.valueOf(status.getOrDefault("role", "UNRESPONSIVE"));
    out.put("servedBy", self);
    out.put("at", System.currentTimeMillis());
    out.put("role", role);
    out.put("term", status.get("term"));
    out.put("leader", leader);
    // "Lost the leader": this node knows none (an election, or it is cut off), or cannot say.
    out.put("leaderLost", leader == 0 || !(role.equals("LEADER") || role.equals("FOLLOWER")));
    out.put("localControl", localControl);
    out.put("nodes", nodes);
    out.put("ranges", ranges(nodes));
    List<Map<String, Object>> events = new ArrayList<>();
    for (Map<String, Object> n : nodes) {
      Object ev = asMap(n.get("overview")).get("events");
      if (ev instanceof List<?> l) {
        l.forEach(e -> events.add(json.convertValue(e, Map.class)));
      }
    }
    events.sort(Comparator.comparingLong((Map<String, Object> e) -> ((Number) e.get("at")).longValue()).reversed());
    out.put("events", events.subList(0, Math.min(60, events.size())));
    return out;
  }

  /** Every range any member reported, in key order (a range's start key, then its id). */
  static List<Map<String, Object>> ranges(List<Map<String, Object>> nodes) {
    Map<Long, Map<String, Object>> merged = new java.util.TreeMap<>();
    for (Map<String, Object> n : nodes) {
      Map<String, Object> status = asMap(asMap(n.get("overview")).get("status"));
      if (!(status.get("ranges") instanceof List<?> l)) {
        continue;
      }
      long node = ((Number) n.get("id")).longValue();
      for (Object o : l) {
        Map<String, Object> r = asMap(o);
        if (!(r.get("id") instanceof Number idNumber)) {
          continue;
        }
        Map<String, Object> m = merged.computeIfAbsent(idNumber.longValue(), id -> {
          Map<String, Object> x = new LinkedHashMap<>();
          x.put("id", id);
          x.put("epochVersion", -1L);
          x.put("term", 0L);
          x.put("leader", 0L);
          x.put("leaderTerm", -1L);
          x.put("leaderClaimed", false);
          x.put("replicas", new ArrayList<Map<String, Object>>());
          return x;
        });
        long epoch = num(r.get("epochVersion"));
        if (epoch > num(m.get("epochVersion"))) {
          m.put("epochVersion", epoch);
          m.put("start", r.getOrDefault("start", ""));
          m.put("end", r.getOrDefault("end", ""));
          m.put("voters", r.getOrDefault("voters", List.of()));
          m.put("learners", r.getOrDefault("learners", List.of()));
        }
        long term = num(r.get("term"));
        m.put("term", Math.max(term, num(m.get("term"))));
        boolean leads = "LEADER".equals(r.get("role"));
        long hint = leads ? node : num(r.get("leader"));
        boolean claimed = (Boolean) m.get("leaderClaimed");
        // A member's own claim beats any hint; among equals, the highest term wins.
        if (hint != 0 && ((leads && (!claimed || term > num(m.get("leaderTerm"))))
            || (!leads && !claimed && term > num(m.get("leaderTerm"))))) {
          m.put("leader", hint);
          m.put("leaderTerm", term);
          m.put("leaderClaimed", leads);
        }
        Map<String, Object> replica = new LinkedHashMap<>();
        replica.put("node", node);
        for (String k : List.of("role", "term", "leader", "commit", "applied", "quiesced")) {
          replica.put(k, r.get(k));
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> replicas = (List<Map<String, Object>>) m.get("replicas");
        replicas.add(replica);
      }
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> m : merged.values()) {
      long leader = num(m.get("leader"));
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> replicas = (List<Map<String, Object>>) m.get("replicas");
      // Quiesced: as its leader says (a quiesced group's followers say so too).
      m.put("quiesced", replicas.stream().anyMatch(r -> num(r.get("node")) == leader
          && Boolean.TRUE.equals(r.get("quiesced"))));
      m.remove("leaderTerm");
      m.remove("leaderClaimed");
      out.add(m);
    }
    out.sort(Comparator.comparing((Map<String, Object> m) -> String.valueOf(m.getOrDefault("start", "")))
        .thenComparingLong(m -> num(m.get("id"))));
    return out;
  }

  private static long num(Object o) {
    return o instanceof Number n ? n.longValue() : 0;
  }

  /** One node's row: where it lives, whether it answered, and what it said. */
  private static Map<String, Object> node(long id, Map<String, Object> member, String admin,
      Map<String, Object> overview) {
    Map<String, Object> n = new LinkedHashMap<>();
    n.put("id", id);
    n.put("admin", admin);
    n.put("peer", member.get("peer"));
    n.put("client", member.get("client"));
    n.put("member", member.getOrDefault("role", "voter"));
    n.put("reachable", overview != null);
    n.put("overview", overview);
    return n;
  }

  private CompletableFuture<Map<String, Object>> ask(String admin, int samples) {
    if (admin == null) {
      return CompletableFuture.completedFuture(null);
    }
    HttpRequest req = HttpRequest.newBuilder(URI.create(scheme + "://" + admin + "/overview?samples=" + samples))
        .timeout(Duration.ofMillis(ASK_MILLIS)).GET().build();
    return http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray()).handle((r, t) -> {
      if (t != null || r.statusCode() != 200) {
        return null;
      }
      try {
        return asMap(json.readValue(r.body(), Map.class));
      } catch (java.io.IOException e) {
        return null;
      }
    });
  }

  /** By the conventional layout: admin = peer port + 1, on the peer's host. */
  static String adminOf(String peer) {
    int colon = peer.lastIndexOf(':');
    if (colon <= 0) {
      return null;
    }
    try {
      return peer.substring(0, colon) + ":" + (Integer.parseInt(peer.substring(colon + 1)) + 1);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static List<Map<String, Object>> membersOf(Map<String, Object> status) {
    List<Map<String, Object>> out = new ArrayList<>();
    if (status.get("members") instanceof List<?> l) {
      for (Object o : l) {
        out.add(asMap(o));
      }
    }
    out.sort(Comparator.comparingLong(m -> ((Number) m.getOrDefault("id", 0)).longValue()));
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }
}
