package io.flotilla.client.wire;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Name lookups for Netty connects, done on their own threads instead of the event loop.
 *
 * <p>Netty's default resolver calls {@link InetAddress#getAllByName} on the event loop that makes
 * the connection. A lookup can block for many seconds: Docker's embedded DNS answers a stopped
 * container's name only after forwarding it upstream, 20 s on a network with no route out. Found
 * by deploy/compose-test.sh: with the leader's container killed, each reconnect to it held the
 * survivors' peer loop for 20 s, their links to each other fell silent, and no new leader could be
 * elected. Here only the connect that waits for the name waits; every other connection on the
 * loop goes on.
 *
 * <p>Lookups still go through the JDK (its cache and its {@code networkaddress.cache.ttl}), so
 * names are resolved exactly as before, at every connect.
 */
public final class OffLoopResolver extends AddressResolverGroup<InetSocketAddress> {
  /** Looks a host name up, blocking; the JDK's resolver outside tests. */
  @FunctionalInterface
  public interface Lookup {
    InetAddress[] all(String host) throws UnknownHostException;
  }

  /** Lookups at once at most; past that a connect fails at once (it is retried like any other). */
  static final int MAX_LOOKUPS = 32;

  /** The JDK's lookups; shared by every client and peer connection in the process. */
  public static final OffLoopResolver INSTANCE = new OffLoopResolver(InetAddress::getAllByName);

  private final Lookup lookup;
  private final ThreadPoolExecutor threads;

  /** @param lookup the blocking lookup, run on this resolver's own daemon threads */
  public OffLoopResolver(Lookup lookup) {
    this.lookup = lookup;
    AtomicInteger n = new AtomicInteger();
    // No queue: a lookup either gets a thread now or fails now; a slow DNS server must not let
    // lookups pile up behind it without bound.
    this.threads = new ThreadPoolExecutor(0, MAX_LOOKUPS, 30, TimeUnit.SECONDS,
        new SynchronousQueue<>(), r -> {
          Thread t = new Thread(r, "flotilla-name-lookup-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }

  @Override
  protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
    return new InetNameResolver(executor) {
      @Override
      protected void doResolve(String host, Promise<InetAddress> promise) {
        offLoop(host, promise, all -> all[0]);
      }

      @Override
      protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
        offLoop(host, promise, Arrays::asList);
      }
    }.asAddressResolver();
  }

  private <T> void offLoop(String host, Promise<T> promise,
      java.util.function.Function<InetAddress[], T> pick) {
    try {
      threads.execute(() -> {
        try {
          promise.trySuccess(pick.apply(lookup.all(host)));
        } catch (UnknownHostException | RuntimeException e) {
          promise.tryFailure(e);
        }
      });
    } catch (RejectedExecutionException e) {
      promise.tryFailure(new UnknownHostException(host + ": " + MAX_LOOKUPS
          + " name lookups already under way"));
    }
  }

  @Override
  public void close() {
    super.close();
    if (this != INSTANCE) {
      threads.shutdownNow();
    }
  }
}
