package io.flotilla.server.membership;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Error;
import io.flotilla.client.proto.MemberChangeRequest;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.storage.proto.MemberInfo;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A joining node asks a member (any: the request is redirected to the leader) to add it as a
 * learner, retrying with backoff until it is added or refused for good.
 */
final class Joiner implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Joiner.class);

  private final NodeConfig config;
  private final Endpoint join;
  private final MemberDirectory directory;
  private final ScheduledExecutorService timer;
  private final BooleanSupplier closed;
  private final long incarnation;
  private final AtomicReference<FlotillaClient> client = new AtomicReference<>();

  Joiner(NodeConfig config, Endpoint join, long incarnation, MemberDirectory directory,
      ScheduledExecutorService timer, BooleanSupplier closed) {
    this.incarnation = incarnation;
    this.config = config;
    this.join = join;
    this.directory = directory;
    this.timer = timer;
    this.closed = closed;
  }

  void start() {
    NodeConfig.Member self = config.members().get(config.id());
    client.set(new FlotillaClient(io.flotilla.server.tls.NodeClients.secure(
        ClientOptions.of(join.toString()).withRequestTimeout(Duration.ofSeconds(10)), config.tls())));
    var request = MemberChangeRequest.newBuilder()
        .setKind(MemberChangeRequest.Kind.ADD_LEARNER).setNodeId(config.id())
        .setPeerAddress(self.peer().toString())
        .setClientAddress(self.client() == null ? "" : self.client().toString())
        .setIncarnation(incarnation).build();
    attempt(request, 1);
  }

  private void attempt(MemberChangeRequest request, int attempt) {
    var c = client.get();
    if (closed.getAsBoolean() || c == null) {
      return;
    }
    c.changeMembers(request).whenComplete((members, t) -> {
      if (t == null) {
        for (var m : members.getMembersList()) {
          directory.learn(m.getId(), MemberDirectory.toMember(MemberInfo.newBuilder().setId(m.getId())
              .setPeerAddress(m.getPeerAddress()).setClientAddress(m.getClientAddress()).build()));
        }
        LOG.info("node {} joined through {} as a learner; members {}", config.id(), join,
            members.getMembersList().stream().map(m -> m.getId() + "(" + m.getRole() + ")").toList());
        stop();
        return;
      }
      Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
      if (cause instanceof FlotillaException fe && fe.code() == Error.Code.INVALID_ARGUMENT) {
        LOG.error("node {}: the cluster at {} refused to add it: {}. Not retrying.", config.id(), join,
            fe.getMessage());
        stop();
        return;
      }
      LOG.warn("node {}: join attempt {} through {} failed ({}); retrying", config.id(), attempt, join,
          cause.toString());
      timer.schedule(() -> attempt(request, attempt + 1), Math.min(2000, 200L * attempt), TimeUnit.MILLISECONDS);
    });
  }

  /** Closes the join client off its own threads: a client cannot close from its event loop. */
  private void stop() {
    var c = client.getAndSet(null);
    if (c != null) {
      CompletableFuture.runAsync(c::close);
    }
  }

  /** From the node's close (not a client thread): closes the client at once. */
  @Override
  public void close() {
    var c = client.getAndSet(null);
    if (c != null) {
      c.close();
    }
  }
}
