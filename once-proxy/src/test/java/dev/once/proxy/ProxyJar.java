package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged jar, run as a process the way the README runs it, with its standard output and
 * error read into lists as they come. Closing it kills the process if it still runs.
 */
final class ProxyJar implements AutoCloseable {
  private static final Pattern READY =
      Pattern.compile("once-proxy listening on http://127\\.0\\.0\\.1:(\\d+)");

  final Process process;
  final List<String> out = new ArrayList<>();
  final List<String> err = new ArrayList<>();
  private final CompletableFuture<String> firstLine = new CompletableFuture<>();
  private final Thread outReader;
  private final Thread errReader;
  private int port;

  private ProxyJar(boolean launcher, Map<String, String> env, String... args) throws IOException {
    Path jar = Paths.get(System.getProperty("once.proxy.jar", "target/once-proxy.jar"));
    assertThat(jar).as("the jar is built by mvn package").exists();
    Path javaBin = Paths.get(System.getProperty("java.home"), "bin");
    List<String> command = new ArrayList<>(launcher
        ? List.of(Paths.get("bin", "once-proxy").toString())
        : List.of(javaBin.resolve("java").toString(), "-jar", jar.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().keySet().removeIf(name -> name.startsWith("ONCE_"));
    builder.environment().remove("JAVA_OPTS");
    if (launcher) {
      builder.environment().put("ONCE_PROXY_JAR", jar.toString());
      builder.environment().put("PATH",
          javaBin + File.pathSeparator + builder.environment().getOrDefault("PATH", ""));
    }
    builder.environment().putAll(env);
    process = builder.start();
    outReader = reader(process.getInputStream(), out, true);
    errReader = reader(process.getErrorStream(), err, false);
  }

  /** Starts the jar with these flags and no {@code ONCE_*} variables. */
  static ProxyJar start(String... args) throws IOException {
    return new ProxyJar(false, Map.of(), args);
  }

  /** Starts the jar with these flags and these {@code ONCE_*} variables. */
  static ProxyJar start(Map<String, String> env, String... args) throws IOException {
    return new ProxyJar(false, env, args);
  }

  /**
   * Starts the jar through the launcher, {@code bin/once-proxy}, with these variables (such as
   * {@code JAVA_OPTS}) and flags; the {@code java} of the JVM running the tests comes first on
   * its {@code PATH}.
   */
  static ProxyJar launched(Map<String, String> env, String... args) throws IOException {
    return new ProxyJar(true, env, args);
  }

  /** @return the flags of the running JVM, as {@code jcmd PID VM.flags} prints them */
  String vmFlags() throws Exception {
    Process jcmd = new ProcessBuilder(
        Paths.get(System.getProperty("java.home"), "bin", "jcmd").toString(),
        Long.toString(process.pid()), "VM.flags")
        .redirectErrorStream(true).start();
    String printed = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(jcmd.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return printed;
  }

  /** Starts the jar on a free port in front of {@code upstream} and waits until it listens. */
  static ProxyJar listening(URI upstream, String... flags) throws Exception {
    List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0",
        "--upstream", upstream.toString()));
    args.addAll(List.of(flags));
    ProxyJar jar = start(args.toArray(new String[0]));
    jar.awaitReady();
    return jar;
  }

  private Thread reader(InputStream stream, List<String> into, boolean first) {
    Thread thread = new Thread(() -> {
      try (BufferedReader lines = new BufferedReader(
          new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        for (String line; (line = lines.readLine()) != null; ) {
          synchronized (into) {
            into.add(line);
          }
          if (first) {
            firstLine.complete(line);
          }
        }
      } catch (IOException e) {
        // the process ended
      }
      firstLine.complete(null);
    });
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** @return the port from the ready line */
  int awaitReady() throws Exception {
    String line = firstLine.get(120, TimeUnit.SECONDS);
    assertThat(line).as("stdout's first line (stderr: %s)", err()).isNotNull();
    Matcher ready = READY.matcher(line);
    assertThat(ready.matches()).as("the ready line: %s", line).isTrue();
    port = Integer.parseInt(ready.group(1));
    return port;
  }

  /** @return {@code path} on the proxy */
  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  int port() {
    return port;
  }

  /** @return what the process wrote to standard error so far */
  List<String> err() {
    synchronized (err) {
      return List.copyOf(err);
    }
  }

  /**
   * Sends SIGTERM. Not {@link Process#destroy()}: it closes the streams, so what the process
   * writes while it stops would be lost.
   */
  void sigterm() {
    assertThat(process.toHandle().supportsNormalTermination()).isTrue();
    assertThat(process.toHandle().destroy()).isTrue();
  }

  /** Sends a signal by name (STOP, CONT) with the system's kill command. */
  void signal(String name) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
        .inheritIO().start();
    assertThat(kill.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).as("kill -%s", name).isZero();
  }

  /** Waits for the process to end and its output to be read. */
  int awaitExit() throws Exception {
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the process ended").isTrue();
    outReader.join(10_000);
    errReader.join(10_000);
    return process.exitValue();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
