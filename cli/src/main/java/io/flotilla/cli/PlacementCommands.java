package io.flotilla.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.NodeInfo;
import io.flotilla.client.proto.NodeListResult;
import io.flotilla.client.proto.PlacementSettingsResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code bin/flotilla node ...} and {@code placement ...}: where replicas live (docs/placement.md). */
final class PlacementCommands {
  private PlacementCommands() {}

  @Command(name = "node", mixinStandardHelpOptions = true,
      description = "The cluster's nodes as the placement driver sees them: list them, drain one.",
      subcommands = {NodeList.class, Decommission.class})
  static final class Node implements Callable<Integer> {
    @Override
    public Integer call() {
      new picocli.CommandLine(this).usage(System.out);
      return 64;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "One line per node: id, client address, state (live, suspect, dead, decommissioning,"
          + " removed), replicas, leaders, approximate bytes of data.")
  static final class NodeList extends KvCommands.Base {
    @Option(names = "--json", description = "One JSON object: {\"nodes\": [{\"id\", \"address\", \"state\","
        + " \"replicas\", \"leaders\", \"usedBytes\"}], \"replicationFactor\", \"pendingMoves\"}.")
    boolean json;

    @Override
    int run(FlotillaClient c) {
      print(c.nodes().join(), json);
      return 0;
    }
  }

  @Command(name = "decommission", mixinStandardHelpOptions = true,
      description = "Drains node ID: its replicas move to the other nodes (the replication factor is kept),"
          + " its leaderships go first; then it leaves the cluster and can be stopped. Watch it with"
          + " 'node list'.")
  static final class Decommission extends KvCommands.Base {
    @Parameters(index = "0", description = "The node's id.")
    long nodeId;

    @Override
    int run(FlotillaClient c) {
      NodeListResult r = c.decommission(nodeId).join();
      System.out.println("node " + nodeId + " is decommissioning: its replicas move away, then it leaves the"
          + " cluster (bin/flotilla node list shows the progress)");
      print(r, false);
      return 0;
    }
  }

  @Command(name = "placement", mixinStandardHelpOptions = true,
      description = "Shows or changes the placement settings, at run time: the replication factor of every"
          + " range and how many moves a node takes part in at once.")
  static final class Placement extends KvCommands.Base {
    @Parameters(index = "0", arity = "0..1", defaultValue = "show", description = "show (default) or set.")
    String action;

    @Option(names = "--replication-factor", description = "Replicas of every range (1 to 7; 3 by default).")
    int replicationFactor;

    @Option(names = "--max-moves-per-node", description = "Moves a node takes part in at once (2 by default).")
    int maxMovesPerNode;

    @Override
    int run(FlotillaClient c) {
      if (!action.equals("show") && !action.equals("set")) {
        System.err.println("placement: expected 'show' or 'set', not '" + action + "'");
        return 64;
      }
      if (action.equals("set") && replicationFactor == 0 && maxMovesPerNode == 0) {
        System.err.println("placement set: give --replication-factor and/or --max-moves-per-node");
        return 64;
      }
      PlacementSettingsResult s = action.equals("show") ? c.placement(0, 0).join()
          : c.placement(replicationFactor, maxMovesPerNode).join();
      System.out.println("replication factor " + s.getReplicationFactor() + ", max moves per node "
          + s.getMaxMovesPerNode());
      return 0;
    }
  }

  static void print(NodeListResult r, boolean json) {
    if (json) {
      List<Map<String, Object>> nodes = new ArrayList<>();
      for (NodeInfo n : r.getNodesList()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", n.getId());
        m.put("address", n.getAddress());
        m.put("state", n.getState());
        m.put("replicas", n.getReplicas());
        m.put("leaders", n.getLeaders());
        m.put("usedBytes", n.getUsedBytes());
        nodes.add(m);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("nodes", nodes);
      out.put("replicationFactor", r.getReplicationFactor());
      out.put("pendingMoves", r.getPendingMoves());
      try {
        System.out.println(new ObjectMapper().writeValueAsString(out));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      return;
    }
    for (NodeInfo n : r.getNodesList()) {
      System.out.printf("%d  %s  %s  replicas %d  leaders %d  ~%d bytes%n", n.getId(),
          n.getAddress().isEmpty() ? "-" : n.getAddress(), n.getState(), n.getReplicas(), n.getLeaders(),
          n.getUsedBytes());
    }
    System.out.println("replication factor " + r.getReplicationFactor() + ", " + r.getPendingMoves()
        + " moves pending");
  }
}
