package io.flotilla.loadgen;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;

/**
 * One connection-holding client of the system under test. The load generator drives Flotilla
 * through {@link #flotilla}; the etcd comparison plugs in an etcd client behind the same calls,
 * so both run exactly the same workload code.
 */
public interface KvTarget extends AutoCloseable {

  CompletableFuture<?> put(byte[] key, byte[] value);

  CompletableFuture<?> get(byte[] key, Consistency consistency);

  CompletableFuture<?> delete(byte[] key);

  /** Compare-and-set; a failed comparison is a normal answer, not an error. */
  CompletableFuture<?> cas(byte[] key, byte[] expected, byte[] newValue);

  CompletableFuture<?> incr(byte[] key, long delta);

  /** A short name for an error, for the report's error counts. */
  default String errorCode(Throwable t) {
    return t.getClass().getSimpleName();
  }

  @Override
  void close();

  /**
   * Makes targets of one kind of system. Flotilla's is built in; others (etcd, in the bench
   * module) are found with {@link ServiceLoader} when their classes are on the class path, so
   * neither the load generator nor the CLI ever depends on another system's client.
   */
  interface Factory {
    /** The name {@code bin/flotilla bench --target} selects it by. */
    String name();

    /** A client on {@code endpoints} (comma-separated, in the system's own syntax). */
    KvTarget connect(String endpoints);
  }

  /** The factory named {@code name}: "flotilla", or one found on the class path. */
  static Factory factory(String name) {
    if (name.equals("flotilla")) {
      return new Factory() {
        @Override
        public String name() {
          return "flotilla";
        }

        @Override
        public KvTarget connect(String endpoints) {
          return flotilla(endpoints);
        }
      };
    }
    List<String> known = new ArrayList<>(List.of("flotilla"));
    for (Factory f : ServiceLoader.load(Factory.class)) {
      if (f.name().equals(name)) {
        return f;
      }
      known.add(f.name());
    }
    throw new IllegalArgumentException("unknown target '" + name + "'; on the class path: " + known
        + (name.equals("etcd") ? " (bin/flotilla adds the etcd client when --target etcd is given;"
        + " build the bench module first)" : ""));
  }

  /** A Flotilla client on {@code endpoints}, with exactly-once sessions (the client's default). */
  static KvTarget flotilla(String endpoints) {
    return flotilla(endpoints, true);
  }

  /**
   * A Flotilla client on {@code endpoints}; {@code sessions} false turns off exactly-once writes
   * (no session record per write on the server; a write whose answer was lost fails instead of
   * being retried), which is what etcd's put offers.
   */
  static KvTarget flotilla(String endpoints, boolean sessions) {
    return flotilla(endpoints, sessions, null);
  }

  /** As above, over TLS with {@code tls} (null: plain text). */
  static KvTarget flotilla(String endpoints, boolean sessions, io.flotilla.client.tls.ClientTls tls) {
    FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(10))
        .withSessions(sessions).withTls(tls));
    return new KvTarget() {
      @Override
      public CompletableFuture<?> put(byte[] key, byte[] value) {
        return c.put(key, value);
      }

      @Override
      public CompletableFuture<?> get(byte[] key, Consistency consistency) {
        return c.get(key, consistency);
      }

      @Override
      public CompletableFuture<?> delete(byte[] key) {
        return c.delete(key);
      }

      @Override
      public CompletableFuture<?> cas(byte[] key, byte[] expected, byte[] newValue) {
        return c.cas(key, expected, newValue);
      }

      @Override
      public CompletableFuture<?> incr(byte[] key, long delta) {
        return c.incr(key, delta);
      }

      @Override
      public String errorCode(Throwable t) {
        return t instanceof FlotillaException fe ? fe.code().name() : t.getClass().getSimpleName();
      }

      @Override
      public void close() {
        c.close();
      }
    };
  }
}
