package io.flotilla.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.StatusResult;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The key-value commands: one request each, printed plainly; errors exit non-zero. */
final class KvCommands {
  private KvCommands() {}

  abstract static class Base implements Callable<Integer> {
    @Option(names = "--endpoints", required = true, defaultValue = "${env:FLOTILLA_ENDPOINTS}",
        description = "Client addresses of any members, HOST:PORT,... (or $FLOTILLA_ENDPOINTS).")
    String endpoints;

    @picocli.CommandLine.Mixin
    TlsOption tls;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      try (FlotillaClient c = new FlotillaClient(tls.apply(ClientOptions.of(endpoints), spec.commandLine()))) {
        return run(c);
      } catch (FlotillaException e) {
        return failed(e);
      } catch (java.util.concurrent.CompletionException e) {
        if (e.getCause() instanceof FlotillaException fe) {
          return failed(fe); // an asynchronous call's failure, joined
        }
        throw e;
      }
    }

    private static int failed(FlotillaException e) {
      System.err.println("error: " + e.getMessage()
          + (e.outcomeUnknown() ? " (the write may or may not have been applied)" : ""));
      return 2;
    }

    abstract int run(FlotillaClient c);
  }

  @Command(name = "put", mixinStandardHelpOptions = true, description = "Sets KEY to VALUE.")
  static final class Put extends Base {
    @Parameters(index = "0") String key;
    @Parameters(index = "1") String value;

    @Override
    int run(FlotillaClient c) {
      c.blocking().put(key.getBytes(UTF_8), value.getBytes(UTF_8));
      System.out.println("OK");
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Prints KEY's value; exits 1 when absent.")
  static final class Get extends Base {
    @Parameters(index = "0") String key;

    @Option(names = "--consistency", defaultValue = "LINEARIZABLE",
        description = "LINEARIZABLE (default), FOLLOWER or SERIALIZABLE (local, maybe stale).")
    Consistency consistency;

    @Override
    int run(FlotillaClient c) {
      Optional<byte[]> v = c.blocking().get(key.getBytes(UTF_8), consistency);
      if (v.isEmpty()) {
        System.err.println("(not found)");
        return 1;
      }
      System.out.println(new String(v.get(), UTF_8));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes KEY.")
  static final class Delete extends Base {
    @Parameters(index = "0") String key;

    @Override
    int run(FlotillaClient c) {
      System.out.println(c.blocking().delete(key.getBytes(UTF_8)) ? "deleted" : "(not found)");
      return 0;
    }
  }

  @Command(name = "incr", mixinStandardHelpOptions = true,
      description = "Adds DELTA (default 1) to the counter at KEY and prints the new value.")
  static final class Incr extends Base {
    @Parameters(index = "0") String key;
    @Parameters(index = "1", defaultValue = "1") long delta;

    @Override
    int run(FlotillaClient c) {
      System.out.println(c.blocking().incr(key.getBytes(UTF_8), delta));
      return 0;
    }
  }

  @Command(name = "cas", mixinStandardHelpOptions = true,
      description = "Sets KEY to NEW only if its value is EXPECTED (--absent: only if missing).")
  static final class Cas extends Base {
    @Parameters(index = "0") String key;
    @Option(names = "--expected") String expected;
    @Option(names = "--absent") boolean absent;
    @Parameters(index = "1") String newValue;

    @Override
    int run(FlotillaClient c) {
      if (absent == (expected != null)) {
        System.err.println("give exactly one of --expected VALUE or --absent");
        return 64;
      }
      boolean ok = c.blocking().cas(key.getBytes(UTF_8),
          absent ? null : expected.getBytes(UTF_8), newValue.getBytes(UTF_8));
      System.out.println(ok ? "swapped" : "not swapped (comparison failed)");
      return ok ? 0 : 1;
    }
  }

  @Command(name = "scan", mixinStandardHelpOptions = true,
      description = "Prints KEY<TAB>VALUE for keys in [START, END) in key order, page by page.")
  static final class Scan extends Base {
    @Parameters(index = "0", defaultValue = "", description = "First key (inclusive); default: the first.")
    String start;

    @Parameters(index = "1", defaultValue = "", description = "End key (exclusive); default: no end.")
    String end;

    @Option(names = "--limit", defaultValue = "1000", description = "At most this many keys. Default: ${DEFAULT-VALUE}.")
    int limit;

    @Option(names = "--consistency", defaultValue = "LINEARIZABLE",
        description = "LINEARIZABLE (default), FOLLOWER or SERIALIZABLE (local, maybe stale).")
    Consistency consistency;

    @Override
    int run(FlotillaClient c) {
      if (limit <= 0) {
        System.err.println("--limit must be positive");
        return 64;
      }
      byte[] from = start.getBytes(UTF_8);
      int printed = 0;
      while (printed < limit) {
        // Pages of at most 1,000 (the server's cap); the continuation resumes where one stopped.
        var page = c.blocking().scan(from, end.getBytes(UTF_8), Math.min(1000, limit - printed), consistency);
        for (var kv : page.getEntriesList()) {
          System.out.println(kv.getKey().toStringUtf8() + "\t" + kv.getValue().toStringUtf8());
          printed++;
        }
        if (page.getContinuation().isEmpty() || page.getEntriesCount() == 0) {
          break;
        }
        from = page.getContinuation().toByteArray();
      }
      return 0;
    }
  }

  @Command(name = "member", mixinStandardHelpOptions = true,
      description = "Cluster membership: list, add a learner, promote it, remove a member, hand"
          + " leadership to another node. Changes go through the leader by joint consensus.",
      subcommands = {MemberList.class, AddLearner.class, Promote.class, Remove.class, TransferLeader.class})
  static final class Member implements Callable<Integer> {
    @Override
    public Integer call() {
      new picocli.CommandLine(this).usage(System.out);
      return 64;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "One line per member: id, peer address, client address, role, leader, match index.")
  static final class MemberList extends Base {
    @Override
    int run(FlotillaClient c) {
      printMembers(c.blocking().members());
      return 0;
    }
  }

  static void printMembers(io.flotilla.client.proto.MemberListResult members) {
    for (var m : members.getMembersList()) {
      System.out.printf("%d  peer %s  client %s  %s%s  match %d%n", m.getId(),
          m.getPeerAddress().isEmpty() ? "-" : m.getPeerAddress(),
          m.getClientAddress().isEmpty() ? "-" : m.getClientAddress(), m.getRole(),
          m.getLeader() ? "  leader" : "", m.getMatchIndex());
    }
  }

  @Command(name = "add-learner", mixinStandardHelpOptions = true,
      description = "Adds node ID as a learner (it receives the log but does not vote). A node"
          + " started with --join does this by itself.")
  static final class AddLearner extends Base {
    @Parameters(index = "0", description = "The new node's id (never one used before).")
    long nodeId;

    @Option(names = "--peer", required = true, paramLabel = "HOST:PORT", description = "Its peer address, by name.")
    String peerAddress;

    @Option(names = "--client", required = true, paramLabel = "HOST:PORT", description = "Its client address, by name.")
    String clientAddress;

    @Override
    int run(FlotillaClient c) {
      printMembers(c.blocking().changeMembers(io.flotilla.client.proto.MemberChangeRequest.newBuilder()
          .setKind(io.flotilla.client.proto.MemberChangeRequest.Kind.ADD_LEARNER).setNodeId(nodeId)
          .setPeerAddress(peerAddress).setClientAddress(clientAddress).build()));
      return 0;
    }
  }

  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = "Makes learner ID a voter (the leader also does this by itself once it caught up,"
          + " unless servers run with --promote-gap -1).")
  static final class Promote extends Base {
    @Parameters(index = "0", description = "The learner's id.")
    long nodeId;

    @Override
    int run(FlotillaClient c) {
      printMembers(c.blocking().changeMembers(io.flotilla.client.proto.MemberChangeRequest.newBuilder()
          .setKind(io.flotilla.client.proto.MemberChangeRequest.Kind.PROMOTE).setNodeId(nodeId).build()));
      return 0;
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = "Removes member ID (voter or learner; the leader too: it steps down once the"
          + " change commits). The removed node refuses clients; its id is never reused.")
  static final class Remove extends Base {
    @Parameters(index = "0", description = "The member's id.")
    long nodeId;

    @Override
    int run(FlotillaClient c) {
      printMembers(c.blocking().changeMembers(io.flotilla.client.proto.MemberChangeRequest.newBuilder()
          .setKind(io.flotilla.client.proto.MemberChangeRequest.Kind.REMOVE).setNodeId(nodeId).build()));
      return 0;
    }
  }

  @Command(name = "transfer-leader", mixinStandardHelpOptions = true,
      description = "Hands leadership to node ID (default: the most caught-up follower) and waits until it leads.")
  static final class TransferLeader extends Base {
    @Parameters(index = "0", defaultValue = "0", description = "Target node id; 0 = the most caught-up follower.")
    long target;

    @Override
    int run(FlotillaClient c) {
      System.out.println("node " + c.blocking().transferLeader(target) + " is the leader");
      return 0;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Prints each endpoint's view: role, term, leader, applied index.")
  static final class Status extends Base {
    @Override
    int run(FlotillaClient c) {
      for (String e : endpoints.split(",")) {
        Endpoint ep = Endpoint.parse(e);
        try {
          StatusResult s = c.blocking().status(ep);
          System.out.printf("%s  node %d  %-8s term %d  leader %d  applied %d%n", ep,
              s.getNodeId(), s.getRole(), s.getTerm(), s.getLeaderId(), s.getAppliedIndex());
        } catch (FlotillaException ex) {
          System.out.printf("%s  unreachable (%s)%n", ep, ex.code());
        }
      }
      return 0;
    }
  }
}
