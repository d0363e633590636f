package io.flotilla.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.RangeInfo;
import io.flotilla.client.proto.RangeListResult;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code bin/flotilla range ...}: the ranges of the key space (docs/ranges.md). */
final class RangeCommands {
  private RangeCommands() {}

  @Command(name = "range", mixinStandardHelpOptions = true,
      description = "Ranges of the key space, each its own Raft group: list them, split one at a key,"
          + " hand one's leadership to another node.",
      subcommands = {RangeList.class, Split.class, TransferLeader.class})
  static final class Range implements Callable<Integer> {
    @Override
    public Integer call() {
      new picocli.CommandLine(this).usage(System.out);
      return 64;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "One line per range, in key order: id, start, end, epoch, leader node, replicas,"
          + " approximate size (as the node asked knows them).")
  static final class RangeList extends KvCommands.Base {
    @Option(names = "--json", description = "One JSON object: {\"ranges\": [...]}.")
    boolean json;

    @Override
    int run(FlotillaClient c) {
      print(c.ranges().join(), json);
      return 0;
    }
  }

  @Command(name = "split", mixinStandardHelpOptions = true,
      description = "Splits the range holding KEY at KEY: a new range starts there, with the same"
          + " replicas. Goes through the range's Raft log; a key that already starts a range is done.")
  static final class Split extends KvCommands.Base {
    @Parameters(index = "0", description = "The first key of the new range.")
    String key;

    @Option(names = "--json", description = "Print the ranges after the split as JSON.")
    boolean json;

    @Override
    int run(FlotillaClient c) {
      print(c.splitRange(key.getBytes(StandardCharsets.UTF_8)).join(), json);
      return 0;
    }
  }

  @Command(name = "transfer-leader", mixinStandardHelpOptions = true,
      description = "Hands range RANGE's leadership to node NODE (no NODE: its most caught-up follower).")
  static final class TransferLeader extends KvCommands.Base {
    @Parameters(index = "0", description = "The range id.")
    long rangeId;

    @Parameters(index = "1", arity = "0..1", defaultValue = "0", description = "The node to lead it.")
    long target;

    @Override
    int run(FlotillaClient c) {
      long leader = c.transferRangeLeader(rangeId, target).join();
      System.out.println("range " + rangeId + ": node " + leader + " leads");
      return 0;
    }
  }

  static void print(RangeListResult ranges, boolean json) {
    if (json) {
      List<Map<String, Object>> out = new ArrayList<>();
      for (RangeInfo r : ranges.getRangesList()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getRangeId());
        m.put("start", key(r.getStartKey().toByteArray()));
        m.put("end", key(r.getEndKey().toByteArray()));
        m.put("epoch", Map.of("confVersion", r.getEpochConfVersion(), "version", r.getEpochVersion()));
        m.put("leader", r.getLeaderId());
        m.put("replicas", r.getReplicasList());
        m.put("approximateBytes", r.getApproximateBytes());
        m.put("appliedIndex", r.getAppliedIndex());
        out.add(m);
      }
      try {
        System.out.println(new ObjectMapper().writeValueAsString(Map.of("ranges", out)));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      return;
    }
    for (RangeInfo r : ranges.getRangesList()) {
      System.out.printf("%d  [%s, %s)  epoch %d.%d  leader %s  replicas %s  ~%d bytes%n", r.getRangeId(),
          r.getStartKey().isEmpty() ? "-inf" : key(r.getStartKey().toByteArray()),
          r.getEndKey().isEmpty() ? "+inf" : key(r.getEndKey().toByteArray()), r.getEpochConfVersion(),
          r.getEpochVersion(), r.getLeaderId() == 0 ? "?" : String.valueOf(r.getLeaderId()), r.getReplicasList(),
          r.getApproximateBytes());
    }
  }

  /** A key as text when it is printable, else 0x and hex. */
  static String key(byte[] k) {
    for (byte x : k) {
      if (x < 0x20 || x >= 0x7f) {
        return "0x" + HexFormat.of().formatHex(k);
      }
    }
    return new String(k, StandardCharsets.US_ASCII);
  }
}
