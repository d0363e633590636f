package io.flotilla.client;

import io.flotilla.client.proto.Consistency;
import io.flotilla.client.proto.ScanResult;
import io.flotilla.client.proto.StatusResult;
import io.flotilla.client.proto.TxnRequest;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Blocking views of {@link FlotillaClient}'s calls; failures throw {@link FlotillaException}. */
public final class BlockingClient {
  private final FlotillaClient client;

  BlockingClient(FlotillaClient client) {
    this.client = client;
  }

  public void put(byte[] key, byte[] value) {
    join(client.put(key, value));
  }

  public Optional<byte[]> get(byte[] key) {
    return join(client.get(key));
  }

  public Optional<byte[]> get(byte[] key, Consistency consistency) {
    return join(client.get(key, consistency));
  }

  public boolean delete(byte[] key) {
    return join(client.delete(key));
  }

  public boolean cas(byte[] key, byte[] expected, byte[] newValue) {
    return join(client.cas(key, expected, newValue));
  }

  public long incr(byte[] key, long delta) {
    return join(client.incr(key, delta));
  }

  public ScanResult scan(byte[] start, byte[] end, int limit, Consistency consistency) {
    return join(client.scan(start, end, limit, consistency));
  }

  public boolean txn(TxnRequest txn) {
    return join(client.txn(txn));
  }

  public io.flotilla.client.proto.MemberListResult members() {
    return join(client.members());
  }

  public io.flotilla.client.proto.MemberListResult changeMembers(io.flotilla.client.proto.MemberChangeRequest change) {
    return join(client.changeMembers(change));
  }

  public long transferLeader(long target) {
    return join(client.transferLeader(target));
  }

  public StatusResult status(Endpoint endpoint) {
    return join(client.status(endpoint));
  }

  private static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof FlotillaException fe) {
        throw fe;
      }
      throw e;
    }
  }
}
