package io.flotilla.chaos;

import java.nio.file.Path;

/**
 * A chaos run against containers instead of local processes ({@code --docker-compose}).
 *
 * @param file    the compose file (deploy/docker-compose.yml: services node1..node5)
 * @param project the compose project the run creates for itself and takes down at the end
 */
public record ComposeTarget(Path file, String project) {
  public ComposeTarget {
    if (project == null || !project.matches("[a-z0-9][a-z0-9_-]*")) {
      throw new IllegalArgumentException("--docker-project must be lower-case letters, digits,"
          + " '-' or '_', got '" + project + "'");
    }
  }
}
