package io.flotilla.bench.etcd;

import io.flotilla.loadgen.KvTarget;

/**
 * {@code bin/flotilla bench --target etcd}: found by {@link java.util.ServiceLoader} when the bench
 * module's classes and its etcd client (bench/target/etcd-lib) are on the class path. This class
 * touches no jetcd type, so listing it where jetcd is absent (benchmarks.jar) costs nothing.
 */
public final class EtcdTargetFactory implements KvTarget.Factory {
  @Override
  public String name() {
    return "etcd";
  }

  @Override
  public KvTarget connect(String endpoints) {
    return EtcdTarget.connect(endpoints);
  }
}
