package io.flotilla.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flotilla wal-bench}: the quick WAL benchmark, without JMH. */
@Command(
    name = "wal-bench",
    mixinStandardHelpOptions = true,
    versionProvider = FlotillaCli.Version.class,
    description = {
        "Measures durable (fsync on) WAL appends against raw FileChannel.write + force baselines"
            + " on the same disk, and prints a table with the log's ratios to the baselines.",
        "Scenarios: raw 1 MiB and raw record writes into a preallocated and an appending file;"
            + " closed-loop appenders; pipelined appenders with a window of appends in flight.",
        "Quick and approximate; for careful numbers run the JMH WalAppendBenchmark"
            + " (see bench/README.md)."},
    sortOptions = false)
final class WalBenchCommand implements Callable<Integer> {

  static final Duration QUICK_DURATION = Duration.ofSeconds(2);
  static final Duration QUICK_WARMUP = Duration.ofMillis(200);
  static final int DEFAULT_ROUNDS = 2;

  @Option(names = "--quick", description = "~2 s per scenario in 2 rounds, each after a 0.2 s"
      + " warm-up; under 30 s in all. The default when --duration is not given; overrides"
      + " --duration and --warmup.")
  boolean quick;

  @Option(names = "--dir", paramLabel = "DIR", description = "Parent of the scratch directories;"
      + " use the disk you care about. Default: ${DEFAULT-VALUE}.",
      defaultValue = "${sys:java.io.tmpdir}")
  Path dir;

  @Option(names = "--duration", paramLabel = "TIME", converter = DurationConverter.class,
      description = "Measured time per scenario, e.g. 2s, 500ms, 1m. Default: 2s.")
  Duration duration;

  @Option(names = "--warmup", paramLabel = "TIME", converter = DurationConverter.class,
      description = "Unmeasured time before each round of a scenario. Default: a tenth of"
          + " the duration, at most 5s.")
  Duration warmup;

  @Option(names = "--payload", paramLabel = "BYTES", defaultValue = "256",
      description = "Payload bytes per append (and size of the raw record). Default:"
          + " ${DEFAULT-VALUE}.")
  int payload;

  @Option(names = "--appenders", paramLabel = "N", split = ",", splitSynopsisLabel = ",",
      defaultValue = "1,8,64",
      description = "Closed-loop appender counts. Default: ${DEFAULT-VALUE}.")
  List<Integer> appenders;

  @Option(names = "--pipeline-threads", paramLabel = "N", defaultValue = "2",
      description = "Threads of the pipelined scenario; 0 skips it. Default: ${DEFAULT-VALUE}.")
  int pipelineThreads;

  @Option(names = "--window", paramLabel = "N", defaultValue = "1024",
      description = "Appends each pipelined thread keeps in flight. Default: ${DEFAULT-VALUE}.")
  int window;

  @Option(names = "--rounds", paramLabel = "N",
      description = "Run every scenario N times, interleaved, for duration/N each, and merge:"
          + " spreads the drift of a (virtual) disk's speed over the log and its baselines"
          + " alike. Default: 2.")
  Integer rounds;

  @Option(names = "--groups", paramLabel = "N", split = ",", splitSynopsisLabel = ",",
      description = "Also run the shared-log scenarios with these group counts, e.g. 1,64: the"
          + " workers write one entry of each of their groups unforced, then sync once (a Raft"
          + " scheduler's round). Prints forces/s and appends/s. Default: none.")
  List<Integer> groups;

  @Option(names = "--group-workers", paramLabel = "N", defaultValue = "2",
      description = "Worker threads of the group scenarios. Default: ${DEFAULT-VALUE}.")
  int groupWorkers;

  @Option(names = "--replay-mib", paramLabel = "MIB", defaultValue = "0",
      description = "Also time a reopen (recovery replay) of a shared log of this many MiB over 64"
          + " groups. Default: ${DEFAULT-VALUE} (skip).")
  int replayMib;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Duration measured = quick || duration == null ? QUICK_DURATION : duration;
    Duration warm = warmup != null ? warmup
        : quick || duration == null ? QUICK_WARMUP
        : measured.dividedBy(10).compareTo(Duration.ofSeconds(5)) > 0 ? Duration.ofSeconds(5)
        : measured.dividedBy(10);
    WalScenarios.Settings settings;
    try {
      settings = new WalScenarios.Settings(dir, warm, measured, payload, appenders,
          pipelineThreads, window, 32L << 20, rounds == null ? DEFAULT_ROUNDS : rounds);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    PrintStream out = System.out;
    out.printf(Locale.ROOT, "Flotilla WAL benchmark: %s per scenario in %d interleaved round(s),"
            + " each after %s warm-up; payload %d B; fsync on%n", human(measured),
        settings.rounds(), human(warm), payload);
    out.printf(Locale.ROOT, "disk: %s (%s); %d CPUs; Java %s; %s %s%n%n", dir,
        TempDirs.describeStore(dir), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"), System.getProperty("os.name"),
        System.getProperty("os.version"));
    WalBenchReport report = new WalBenchReport(out);
    report.header();
    var results = WalScenarios.runAll(settings, report::row);
    report.goals(results, payload);
    if (groups != null && !groups.isEmpty()) {
      out.printf(Locale.ROOT, "%nShared log, %d worker(s): each round writes one entry of each of"
          + " its groups unforced, then syncs%n", groupWorkers);
      out.printf(Locale.ROOT, "%-16s %7s %11s %9s %13s %10s %10s%n", "scenario", "groups",
          "appends/s", "forces/s", "appends/force", "round p50", "round p99");
      for (int round = 0; round < settings.rounds(); round++) {
        for (int g : groups) {
          WalGroupScenarios.Result r = WalGroupScenarios.rounds(dir, warm,
              measured.dividedBy(settings.rounds()), payload, g, groupWorkers);
          out.printf(Locale.ROOT, "%-16s %7d %11.0f %9.0f %13.1f %8.3f ms %7.3f ms%n", r.name(),
              r.groups(), r.appendsPerSecond(), r.forcesPerSecond(), r.appendsPerForce(),
              r.roundLatency().getValueAtPercentile(50) / 1e6,
              r.roundLatency().getValueAtPercentile(99) / 1e6);
          out.flush();
        }
      }
    }
    if (replayMib > 0) {
      WalGroupScenarios.Replay r = WalGroupScenarios.replay(dir, 64, (long) replayMib << 20,
          payload);
      out.printf(Locale.ROOT, "%nReopen of a shared log of %d MiB over %d groups (%d segments):"
          + " %.0f ms (%.0f MB/s)%n", replayMib, r.groups(), r.segments(), r.openNanos() / 1e6,
          r.bytes() / 1e6 / (r.openNanos() / 1e9));
    }
    return 0;
  }

  private static String human(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + " s" : ms + " ms";
  }

  /** Accepts 2s, 500ms, 1.5s, 1m, or a bare number of seconds. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    private static final Pattern FORMAT =
        Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)?", Pattern.CASE_INSENSITIVE);

    @Override
    public Duration convert(String value) {
      Matcher m = FORMAT.matcher(value.trim());
      if (!m.matches()) {
        throw new CommandLine.TypeConversionException("'" + value
            + "' is not a duration like 2s, 500ms or 1m");
      }
      double n = Double.parseDouble(m.group(1));
      String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
      double millis = switch (unit) {
        case "ms" -> n;
        case "m" -> n * 60_000;
        default -> n * 1000;
      };
      return Duration.ofMillis(Math.round(millis));
    }
  }
}
