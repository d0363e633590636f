package io.flotilla.wal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Runs {@link WalCrashChild} in a separate JVM and reads what it promised. */
final class ChildJvm implements AutoCloseable {
  private final Process process;
  private final BufferedReader out;
  private final Path stderr;

  ChildJvm(Path workDir, String... args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC",
        "-cp", System.getProperty("java.class.path"), WalCrashChild.class.getName()));
    cmd.addAll(List.of(args));
    stderr = Files.createTempFile(workDir, "child", ".err");
    process = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
    out = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8));
  }

  /** The next complete line, or null at end of output. */
  String readLine() throws IOException {
    return out.readLine();
  }

  /** SIGKILL: no shutdown hooks, no flushing, exactly like a crash of the process. */
  void kill() throws InterruptedException {
    // Through the handle, not Process.destroyForcibly(): that one also closes our end of the
    // pipes, and the lines still in them are promises the test must check.
    process.toHandle().destroyForcibly();
    process.waitFor();
  }

  void closeInput() throws IOException {
    process.getOutputStream().close();
  }

  int waitFor() throws InterruptedException {
    return process.waitFor();
  }

  String stderr() throws IOException {
    return Files.readString(stderr);
  }

  @Override
  public void close() throws IOException {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
    out.close();
  }
}
