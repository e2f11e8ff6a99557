package dev.once.benchmarks.http;

import dev.once.benchmarks.spring.PaymentsApp;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The harness's {@code --server springboot}: {@link PaymentsApp}, a Spring Boot application with
 * one {@code POST /payments} controller on Tomcat, in a JVM of its own per mode (by default {@code
 * -Xmx2g -XX:+UseSerialGC}): bare with {@code once.enabled=false}, and each filtered mode with the
 * once starter's filter and its store. Each JVM writes a GC log, so the report can say what the
 * stored records cost the collector: the young pauses of each mode during the measured rounds.
 *
 * <p>The JVMs run from {@code target/classes} and the module's run-time class path, which the
 * build writes to {@code target/springboot.classpath} (a Spring Boot application does not survive
 * being shaded into {@code benchmarks.jar}).
 */
final class SpringBootBenchServer implements ModeServer {
  /** The application JVMs' options unless {@code --app-java-options} gives others. */
  static final String DEFAULT_JAVA_OPTIONS = "-Xmx2g -XX:+UseSerialGC";
  private static final long START_SECONDS = 120;

  private final Map<String, App> apps;

  private SpringBootBenchServer(Map<String, App> apps) {
    this.apps = apps;
  }

  /** One application JVM. */
  private record App(Process process, int port, Path gcLog, int[] linesRead, long[] cpuNanos) {}

  /**
   * Starts the bare application and one per filtered mode, one after the other.
   *
   * @param filtered the once starter's properties of each filtered mode, by mode name
   * @param javaOptions the JVMs' options, split at spaces
   * @param dir where each JVM's output and GC log go
   * @return the running applications
   */
  static SpringBootBenchServer start(Map<String, List<String>> filtered, String javaOptions,
      Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Map<String, App> apps = new LinkedHashMap<>();
    SpringBootBenchServer started = new SpringBootBenchServer(apps);
    try {
      apps.put(BenchServer.BARE,
          launch(BenchServer.BARE, List.of("--once.enabled=false"), javaOptions, dir));
      for (Map.Entry<String, List<String>> mode : filtered.entrySet()) {
        apps.put(mode.getKey(), launch(mode.getKey(), mode.getValue(), javaOptions, dir));
      }
      return started;
    } catch (IOException | InterruptedException | RuntimeException e) {
      started.close();
      throw e;
    }
  }

  /**
   * The once starter's properties for a store URL: the harness's Spring Boot application takes
   * the memory store, with the URL's {@code maximumRecords} and {@code maximumWeightBytes}.
   *
   * @throws IllegalArgumentException for any other store
   */
  static List<String> starterProperties(String storeUrl) {
    if (!storeUrl.equals("memory") && !storeUrl.startsWith("memory?")) {
      throw new IllegalArgumentException("--server springboot runs the memory store only, but"
          + " --store was \"" + storeUrl + "\"");
    }
    List<String> properties = new ArrayList<>(List.of("--once.store=memory", "--once.ttl=10m"));
    String query = storeUrl.substring("memory".length());
    for (String pair : query.isEmpty() ? new String[0] : query.substring(1).split("&")) {
      String[] nameValue = pair.split("=", 2);
      String value = nameValue.length == 2 ? nameValue[1] : "";
      switch (nameValue[0]) {
        case "maximumRecords" -> properties.add("--once.memory.maximum-records=" + value);
        case "maximumWeightBytes" ->
            properties.add("--once.memory.maximum-weight=" + value + "B");
        default -> throw new IllegalArgumentException("--server springboot: the memory store's"
            + " option \"" + nameValue[0] + "\" has no once.* property here");
      }
    }
    return properties;
  }

  private static App launch(String mode, List<String> properties, String javaOptions, Path dir)
      throws IOException, InterruptedException {
    Path target = codeDirectory();
    Path classpathFile = target.resolve("springboot.classpath");
    if (!Files.isRegularFile(classpathFile)) {
      throw new IllegalStateException(classpathFile + " is missing: build the module first (mvn"
          + " -B -ntp -pl once-benchmarks -am package -DskipTests)");
    }
    String classpath = target.resolve("classes") + java.io.File.pathSeparator
        + Files.readString(classpathFile, StandardCharsets.UTF_8).trim();
    Path gcLog = dir.resolve("springboot-" + mode + "-gc.log");
    Path output = dir.resolve("springboot-" + mode + ".log");
    Files.deleteIfExists(gcLog);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    Arrays.stream(javaOptions.trim().split("\\s+")).filter(s -> !s.isEmpty())
        .forEach(command::add);
    command.add("-Xlog:gc:file=" + gcLog);
    command.addAll(List.of("-cp", classpath, PaymentsApp.class.getName(),
        "--server.port=0", "--server.address=127.0.0.1", "--spring.main.banner-mode=off",
        // Tomcat closes a keep-alive connection after 100 requests by default; Jetty never does
        "--server.tomcat.max-keep-alive-requests=-1"));
    command.addAll(properties);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread copier = new Thread(() -> copy(process, output, port), "springboot-" + mode + "-out");
    copier.setDaemon(true);
    copier.start();
    try {
      int listening = port.get(START_SECONDS, TimeUnit.SECONDS);
      return new App(process, listening, gcLog, new int[1], new long[1]);
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      throw new IllegalStateException("the Spring Boot application of mode " + mode
          + " did not start; its output: " + output, e);
    }
  }

  /** Copies a JVM's output to its log file and reads its port from the ready line. */
  private static void copy(Process process, Path output, CompletableFuture<Integer> port) {
    try (BufferedReader in = new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Writer out = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        out.write(line);
        out.write('\n');
        if (!port.isDone() && line.startsWith(PaymentsApp.READY)) {
          out.flush();
          port.complete(Integer.parseInt(line.substring(PaymentsApp.READY.length()).trim()));
        }
      }
    } catch (IOException | RuntimeException e) {
      port.completeExceptionally(e);
    }
    port.completeExceptionally(new IllegalStateException("the JVM ended before it was ready"));
  }

  /** @return the directory {@code benchmarks.jar} (or the harness's classes) are in */
  private static Path codeDirectory() {
    try {
      Path code = Path.of(SpringBootBenchServer.class.getProtectionDomain().getCodeSource()
          .getLocation().toURI());
      // target/benchmarks.jar, or target/classes when run from an IDE
      return code.getParent();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public URI uri(String mode) {
    return URI.create("http://127.0.0.1:" + apps.get(mode).port() + "/payments");
  }

  @Override
  public GcPauses collectionsSinceLastCall(String mode) throws IOException {
    App app = apps.get(mode);
    if (!Files.exists(app.gcLog())) {
      return GcPauses.NONE;
    }
    List<String> lines = Files.readAllLines(app.gcLog(), StandardCharsets.UTF_8);
    // a line being written may be cut short: it is read again next time
    int complete = lines.size() - 1;
    int from = Math.min(app.linesRead()[0], complete);
    app.linesRead()[0] = Math.max(from, complete);
    return GcPauses.parse(lines.subList(Math.max(0, from), Math.max(0, complete)));
  }

  @Override
  public double cpuMillisSinceLastCall(String mode) {
    App app = apps.get(mode);
    long total = app.process().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    if (total < 0) {
      return -1;
    }
    long since = total - app.cpuNanos()[0];
    app.cpuNanos()[0] = total;
    return since / 1e6;
  }

  @Override
  public void close() {
    for (App app : apps.values()) {
      app.process().destroy();
    }
    for (App app : apps.values()) {
      try {
        if (!app.process().waitFor(20, TimeUnit.SECONDS)) {
          app.process().destroyForcibly();
        }
      } catch (InterruptedException e) {
        app.process().destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
