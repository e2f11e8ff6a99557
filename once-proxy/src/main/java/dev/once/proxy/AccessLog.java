package dev.once.proxy;

import dev.once.Once;
import dev.once.Outcome;
import dev.once.adapter.JsonStrings;
import dev.once.servlet.OnceFilter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;

/**
 * {@code --access-log}: one JSON line per keyed request, when it ends:
 *
 * <pre>{"time":"2026-12-03T22:40:01.123Z","method":"POST","path":"/payments","scope":"h:3f...",
 * "key":"k-1","outcome":"executed","status":201,"upstream_ms":12}</pre>
 *
 * The path is without its query; the scope is the one the engine keys by ({@code ""} for global
 * keys, {@code h:} and a hash with {@code --scope-header}; any other is hashed the same way, so a
 * credential is never written); {@code upstream_ms} is the time from sending the request to the
 * upstream's status line, null when the upstream was not asked (a replay, a refusal). Never a body
 * or a header value other than the key.
 *
 * <p>A request's thread only formats its line and offers it to a bounded queue; one thread of the
 * log's own writes the lines and flushes when the queue is empty, so a slow disk never holds a
 * request. When the queue is full (the disk has fallen {@value #QUEUED} lines behind) a line is
 * dropped and counted in {@value #DROPPED}. Thread-safe.
 */
final class AccessLog implements RequestLog, AutoCloseable {
  /** Lines dropped because the writer had fallen behind. */
  static final String DROPPED = "once.proxy.access.log.dropped";
  /** The request attribute, a {@code Long}, of the upstream's time to its status line in ns. */
  static final String UPSTREAM_NANOS = AccessLog.class.getName() + ".upstreamNanos";
  static final int QUEUED = 8192;

  /** Tells the writer to stop: never a line, as every line starts with a brace. */
  private static final String END = "end";

  private final Once once;
  private final Clock clock;
  private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(QUEUED);
  /** java.io's: inside this class {@code Writer} is {@link RequestLog.Writer}. */
  private final java.io.Writer out;
  private final boolean closeOut;
  private final Counter dropped;
  private final Thread writer;

  private AccessLog(Once once, Clock clock, java.io.Writer out, boolean closeOut,
      MeterRegistry registry) {
    this.once = once;
    this.clock = clock;
    this.out = out;
    this.closeOut = closeOut;
    this.dropped = Counter.builder(DROPPED)
        .description("Access log lines dropped because the writer had fallen behind")
        .register(registry);
    this.writer = new Thread(this::write, "once-proxy-access-log");
    writer.setDaemon(true);
    writer.start();
  }

  /**
   * @param target a file, appended to (created if missing), or {@code -} for standard output
   * @throws IOException if the file cannot be opened
   */
  static AccessLog open(String target, Once once, MeterRegistry registry) throws IOException {
    if (target.equals("-")) {
      return new AccessLog(once, Clock.systemUTC(), writer(System.out), false, registry);
    }
    OutputStream file = Files.newOutputStream(Path.of(target), StandardOpenOption.CREATE,
        StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    return new AccessLog(once, Clock.systemUTC(), writer(file), true, registry);
  }

  private static java.io.Writer writer(OutputStream stream) {
    return new BufferedWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8));
  }

  @Override
  public void log(Request request, Response response) {
    Object outcome = request.getAttribute(OnceFilter.OUTCOME_ATTRIBUTE);
    List<String> keys = request.getHeaders().getValuesList(once.header());
    if (!(outcome instanceof Outcome) || keys.size() != 1) {
      return; // not a keyed request
    }
    Object upstream = request.getAttribute(UPSTREAM_NANOS);
    StringBuilder line = new StringBuilder(256).append("{\"time\":\"")
        .append(Instant.now(clock)).append("\",\"method\":");
    JsonStrings.append(line, request.getMethod());
    line.append(",\"path\":");
    JsonStrings.append(line, request.getHttpURI().getPath());
    line.append(",\"scope\":");
    JsonStrings.append(line, scopeHash(once.keyScope().scopeOf(new ViewedRequest(request))));
    line.append(",\"key\":");
    JsonStrings.append(line, keys.get(0));
    line.append(",\"outcome\":\"").append(((Outcome) outcome).name().toLowerCase(Locale.ROOT))
        .append("\",\"status\":").append(response.getStatus()).append(",\"upstream_ms\":")
        .append(upstream instanceof Long nanos
            ? Long.toString(TimeUnit.NANOSECONDS.toMillis(nanos)) : "null")
        .append('}');
    if (!lines.offer(line.toString())) {
      dropped.increment();
    }
  }

  /** @return the scope as it may be written: empty, already a hash, or hashed here */
  static String scopeHash(String scope) {
    if (scope.isEmpty() || scope.startsWith("h:")) {
      return scope;
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256")
          .digest(scope.getBytes(StandardCharsets.UTF_8));
      return "h:" + HexFormat.of().formatHex(hash, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private void write() {
    try {
      while (true) {
        String line = lines.take();
        if (line.equals(END)) {
          break;
        }
        out.write(line);
        out.write('\n');
        if (lines.isEmpty()) {
          out.flush();
        }
      }
      out.flush();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      System.err.println("once-proxy: the access log cannot be written: " + e.getMessage());
    } finally {
      if (closeOut) {
        try {
          out.close();
        } catch (IOException ignored) {
          // nothing more can be said about a log that cannot be closed
        }
      }
    }
  }

  /** Writes the lines queued so far, then stops; waits up to five seconds for the writer. */
  @Override
  public void close() {
    try {
      lines.put(END);
      writer.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
