package io.flotilla.storage;

import java.util.List;

/**
 * A page of a range scan.
 *
 * @param entries         pairs in ascending unsigned-bytewise key order
 * @param continuationKey the start key of the next page, or null when the range is exhausted
 */
public record ScanResult(List<KvPair> entries, byte[] continuationKey) {

  public boolean done() {
    return continuationKey == null;
  }
}
