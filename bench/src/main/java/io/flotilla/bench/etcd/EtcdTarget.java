package io.flotilla.bench.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.flotilla.client.proto.Consistency;
import io.flotilla.loadgen.KvTarget;
import java.util.concurrent.CompletableFuture;

/**
 * etcd (v3 API) behind the load generator's {@link KvTarget}, through jetcd. Puts are etcd puts
 * (durable: etcd fsyncs its WAL before acknowledging). Gets are linearizable unless
 * SERIALIZABLE is asked for; etcd has no read level that matches Flotilla's FOLLOWER (a
 * linearizable read served by a follower), so FOLLOWER is refused rather than silently changed.
 * There is no atomic increment in etcd's KV API, so {@code incr} fails.
 */
final class EtcdTarget implements KvTarget {
  private static final GetOption LINEARIZABLE = GetOption.newBuilder().withSerializable(false).build();
  private static final GetOption SERIALIZABLE = GetOption.newBuilder().withSerializable(true).build();

  private final Client client;
  private final KV kv;

  private EtcdTarget(Client client) {
    this.client = client;
    this.kv = client.getKVClient();
  }

  /** {@code endpoints}: http://HOST:PORT,... ; jetcd spreads requests over them (round robin). */
  static EtcdTarget connect(String endpoints) {
    return new EtcdTarget(Client.builder().endpoints(endpoints.split(",")).build());
  }

  @Override
  public CompletableFuture<?> put(byte[] key, byte[] value) {
    return kv.put(ByteSequence.from(key), ByteSequence.from(value), PutOption.DEFAULT);
  }

  @Override
  public CompletableFuture<?> get(byte[] key, Consistency consistency) {
    if (consistency == Consistency.FOLLOWER) {
      return CompletableFuture.failedFuture(new UnsupportedOperationException(
          "etcd has no FOLLOWER read level; use LINEARIZABLE or SERIALIZABLE"));
    }
    return kv.get(ByteSequence.from(key), consistency == Consistency.SERIALIZABLE ? SERIALIZABLE : LINEARIZABLE);
  }

  @Override
  public CompletableFuture<?> delete(byte[] key) {
    return kv.delete(ByteSequence.from(key));
  }

  @Override
  public CompletableFuture<?> cas(byte[] key, byte[] expected, byte[] newValue) {
    ByteSequence k = ByteSequence.from(key);
    return kv.txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(ByteSequence.from(expected))))
        .Then(Op.put(k, ByteSequence.from(newValue), PutOption.DEFAULT)).commit();
  }

  @Override
  public CompletableFuture<?> incr(byte[] key, long delta) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("etcd has no atomic increment"));
  }

  @Override
  public void close() {
    client.close();
  }
}
