package dev.once.benchmarks.http;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drives the server with {@code wrk} ({@code apt-get install -y wrk}). The workload is a Lua
 * script: a fixed request for {@code nokey} and {@code hit}, a request built per call with a new
 * {@code Idempotency-Key} for {@code unique}. The script's {@code done} hook prints one line the
 * harness reads: requests, duration, p50 and p99 (microseconds), and errors.
 *
 * @param executable the {@code wrk} program
 * @param threads its {@code -t}, the threads it sends from
 * @param connections its {@code -c}, the connections it keeps open
 * @param scripts the directory the workloads' scripts are written to
 * @param launcher what runs {@code wrk} ({@code taskset -c 1} with {@code --pin}), or nothing
 */
record WrkLoadGenerator(String executable, int threads, int connections, Path scripts,
    List<String> launcher)
    implements LoadGenerator {
  private static final Pattern RESULT = Pattern.compile(
      "ONCE_RESULT requests=(\\d+) duration_us=(\\d+) p50_us=([\\d.]+) p99_us=([\\d.]+)"
          + " errors=(\\d+) status=(\\d+)");

  /**
   * @return a generator if {@code wrk} is on the path, else null
   */
  static WrkLoadGenerator findOnPath(int threads, int connections, List<String> launcher)
      throws IOException {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "wrk");
      if (Files.isExecutable(candidate)) {
        Path scripts = Files.createTempDirectory("once-wrk");
        scripts.toFile().deleteOnExit();
        return new WrkLoadGenerator(candidate.toString(), threads, connections, scripts,
            List.copyOf(launcher));
      }
    }
    return null;
  }

  @Override
  public RunResult run(URI target, Workload workload, String keyPrefix, Duration duration)
      throws IOException, InterruptedException {
    Path script = scripts.resolve(workload.id + ".lua");
    if (!Files.exists(script)) {
      Files.writeString(script, script(workload), StandardCharsets.UTF_8);
      script.toFile().deleteOnExit();
    }
    List<String> command = new ArrayList<>(launcher);
    command.addAll(List.of(executable,
        "-t" + threads, "-c" + connections, "-d" + Math.max(1, duration.toSeconds()) + "s",
        "--timeout", "5s", "-s", script.toString(), target.toString(), "--", keyPrefix));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(duration.toSeconds() + 60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException("wrk did not finish: " + command);
    }
    String text = new String(output, StandardCharsets.UTF_8);
    Matcher m = RESULT.matcher(text);
    if (process.exitValue() != 0 || !m.find()) {
      throw new IOException("wrk failed (exit " + process.exitValue() + "): " + command + "\n"
          + text);
    }
    return new RunResult(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)) / 1e6,
        Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4)),
        Long.parseLong(m.group(5)), Long.parseLong(m.group(6)));
  }

  @Override
  public String describe() {
    try {
      Process process = new ProcessBuilder(executable, "-v").redirectErrorStream(true).start();
      String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      process.waitFor(10, TimeUnit.SECONDS);
      String first = text.lines().findFirst().orElse("wrk").trim();
      return first + " (-t" + threads + " -c" + connections + ")";
    } catch (IOException e) {
      return "wrk (-t" + threads + " -c" + connections + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "wrk";
    }
  }

  /** The Lua script of a workload; its arguments after {@code --} are the key prefix. */
  static String script(Workload workload) {
    String body = HttpBench.BODY.replace("\\", "\\\\").replace("\"", "\\\"");
    StringBuilder lua = new StringBuilder();
    lua.append("-- once-benchmarks HTTP harness, workload ").append(workload.id).append('\n');
    lua.append("local threads = 0\n");
    lua.append("function setup(thread)\n")
        .append("  thread:set(\"thread_index\", threads)\n")
        .append("  threads = threads + 1\n")
        .append("end\n");
    lua.append("local prefix = \"k\"\n");
    lua.append("local counter = 0\n");
    lua.append("local headers = {}\n");
    lua.append("function init(args)\n")
        .append("  prefix = args[1] or \"k\"\n")
        .append("  wrk.method = \"POST\"\n")
        .append("  wrk.body = \"").append(body).append("\"\n")
        .append("  wrk.headers[\"Content-Type\"] = \"application/json\"\n")
        .append("  headers[\"Content-Type\"] = \"application/json\"\n");
    if (workload == Workload.HIT) {
      lua.append("  wrk.headers[\"Idempotency-Key\"] = prefix .. \"-hit\"\n");
    }
    lua.append("end\n");
    if (workload == Workload.UNIQUE) {
      // wrk.format with a header table uses that table alone (plus Host), so it carries them all
      lua.append("function request()\n")
          .append("  counter = counter + 1\n")
          .append("  headers[\"Idempotency-Key\"] = prefix .. \"-\" .. thread_index .. \"-\""
              + " .. counter\n")
          .append("  return wrk.format(nil, nil, headers)\n")
          .append("end\n");
    }
    lua.append("function done(summary, latency, requests)\n")
        .append("  local e = summary.errors\n")
        .append("  io.write(string.format(\"ONCE_RESULT requests=%d duration_us=%d p50_us=%.1f"
            + " p99_us=%.1f errors=%d status=%d\\n\", summary.requests, summary.duration,"
            + " latency:percentile(50), latency:percentile(99),"
            + " e.connect + e.read + e.write + e.timeout, e.status))\n")
        .append("end\n");
    return lua.toString();
  }
}
