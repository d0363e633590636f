package io.flotilla.storage;

import java.io.IOException;
import java.nio.file.Path;

/** Another {@link KvStateMachine} (in this or another process) has the directory open. */
public final class StorageLockedException extends IOException {

  private static final long serialVersionUID = 1L;

  public StorageLockedException(Path root) {
    super("state machine directory is in use: " + root);
  }
}
