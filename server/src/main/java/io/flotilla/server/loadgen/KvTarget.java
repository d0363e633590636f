package io.flotilla.server.loadgen;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.proto.Consistency;
import java.time.Duration;
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

  /** A Flotilla client on {@code endpoints}. */
  static KvTarget flotilla(String endpoints) {
    FlotillaClient c = new FlotillaClient(ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(10)));
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
