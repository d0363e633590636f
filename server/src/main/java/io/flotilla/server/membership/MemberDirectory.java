package io.flotilla.server.membership;

import io.flotilla.client.Endpoint;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.storage.proto.MemberInfo;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where members live: this node's static configuration first, then the replicated member records
 * (which any node and any snapshot carries), then what a join answer told. Read from any thread.
 * Every address learned for another node is handed to the peer transport, so Raft can reach it.
 */
public final class MemberDirectory {
  private static final Logger LOG = LoggerFactory.getLogger(MemberDirectory.class);

  private final NodeConfig config;
  private final Map<Long, NodeConfig.Member> members = new ConcurrentHashMap<>();
  private final BiConsumer<Long, Endpoint> connect;

  /** @param connect told each other member's peer address when it is learned or moves */
  /** This node's TLS files (null: plain text), for the clients membership makes. */
  public io.flotilla.client.tls.TlsFiles tls() {
    return config.tls();
  }

  public MemberDirectory(NodeConfig config, BiConsumer<Long, Endpoint> connect) {
    this.config = config;
    this.connect = connect;
    config.members().forEach((id, m) -> {
      members.put(id, m);
      if (id != config.id()) {
        connect.accept(id, m.peer());
      }
    });
  }

  /** Loads the replicated member records: where every member (past and present) lives. */
  public void refresh(Map<Long, MemberInfo> records) {
    for (MemberInfo mi : records.values()) {
      if (mi.getId() != config.id()) {
        learn(mi.getId(), toMember(mi));
      }
    }
  }

  /** Records where {@code id} lives (never this node: its own addresses are its configuration). */
  void learn(long id, NodeConfig.Member m) {
    if (id == config.id() || m == null) {
      return;
    }
    NodeConfig.Member old = members.put(id, m);
    if (!m.equals(old) || old == null) {
      connect.accept(id, m.peer());
    }
  }

  /** Where {@code id} lives, or null when unknown. */
  public NodeConfig.Member where(long id) {
    return id == config.id() ? config.members().get(id) : members.get(id);
  }

  /**
   * The client address of {@code leaderId} to redirect a client to, or null: none for no leader or
   * this node, nor when the leader's client address is unknown (members may be configured with
   * their peer address alone; the client then tries its other endpoints, protocol.md).
   */
  public String leaderHint(long leaderId) {
    NodeConfig.Member leader = members.get(leaderId);
    if (leaderId != 0 && leaderId != config.id() && leader != null && leader.client() != null) {
      return leader.client().toString();
    }
    return null;
  }

  /** The client address of {@code id} as known here (for status), or null. */
  public String clientAddress(long id) {
    NodeConfig.Member m = members.get(id);
    return m != null && m.client() != null ? m.client().toString() : null;
  }

  /** Client addresses of every other member this node knows of, HOST:PORT,... */
  String otherClientEndpoints() {
    Set<String> out = new TreeSet<>();
    Set<Long> ids = new TreeSet<>(config.members().keySet());
    ids.addAll(members.keySet());
    for (long id : ids) {
      NodeConfig.Member m = members.getOrDefault(id, config.members().get(id));
      if (id != config.id() && m != null && m.client() != null) {
        out.add(m.client().toString());
      }
    }
    return String.join(",", out);
  }

  /** A member record's addresses; null (and logged) if the record holds a bad one. */
  static NodeConfig.Member toMember(MemberInfo mi) {
    try {
      return new NodeConfig.Member(Endpoint.parse(mi.getPeerAddress()),
          mi.getClientAddress().isEmpty() ? null : Endpoint.parse(mi.getClientAddress()));
    } catch (IllegalArgumentException e) {
      LOG.error("member record of node {} has a bad address: {}", mi.getId(), e.getMessage());
      return null;
    }
  }

  /** The member record of {@code id} at {@code m} ({@code removed}: its tombstone). */
  static MemberInfo record(long id, NodeConfig.Member m, boolean removed) {
    return MemberInfo.newBuilder().setId(id).setPeerAddress(m.peer().toString())
        .setClientAddress(m.client() == null ? "" : m.client().toString()).setRemoved(removed).build();
  }
}
