package io.flotilla.server.node;

import io.flotilla.client.Endpoint;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * One node's configuration.
 *
 * @param id          this node's id (positive, one of {@code members})
 * @param dataDir     holds {@code raft/} (the write-ahead log and hard state) and {@code state/}
 *                    (the RocksDB state machine)
 * @param clientBind  where the client port listens (port 0: any)
 * @param peerBind    where the peer port listens
 * @param adminBind   where the admin HTTP port listens
 * @param members     every member, this one included: its peer address (for Raft traffic) and
 *                    client address (for NOT_LEADER hints)
 * @param tickMillis  one Raft tick; election timeout is 10-20 ticks, heartbeats every tick
 */
public record NodeConfig(long id, Path dataDir, Endpoint clientBind, Endpoint peerBind,
    Endpoint adminBind, Map<Long, Member> members, long tickMillis) {

  /** A member's addresses, by host name. */
  public record Member(Endpoint peer, Endpoint client) {}

  public NodeConfig {
    Objects.requireNonNull(dataDir, "dataDir");
    members = Map.copyOf(members);
    if (id <= 0 || !members.containsKey(id)) {
      throw new IllegalArgumentException("node id " + id + " must be one of the members "
          + members.keySet());
    }
    if (tickMillis <= 0) {
      throw new IllegalArgumentException("tickMillis must be positive");
    }
  }
}
