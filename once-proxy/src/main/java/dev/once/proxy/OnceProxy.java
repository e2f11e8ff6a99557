package dev.once.proxy;

import dev.once.Once;
import dev.once.OnceListener;
import dev.once.Stores;
import dev.once.UnknownStoreException;
import dev.once.micrometer.MeteredStore;
import dev.once.micrometer.OnceMeters;
import dev.once.micrometer.StoreState;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.MalformedStoreUrlException;
import dev.once.spi.StoreUrl;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import sun.misc.Signal;

/**
 * {@code once-proxy}: an idempotency reverse proxy in front of any HTTP service. {@code java -jar
 * once-proxy.jar --help} lists the flags; each is also read from an {@code ONCE_*} environment
 * variable. When it is ready it prints one line to standard output, {@code once-proxy listening on
 * http://HOST:PORT}; a bad flag, an unknown store or an unreachable store makes it exit non-zero
 * with one line on standard error. SIGTERM (or SIGINT) stops it gracefully and it exits 0.
 */
public final class OnceProxy {
  /** Exit status for a bad command line or environment. */
  static final int USAGE = 2;
  /** Exit status for a proxy that could not start (store unreachable, address taken). */
  static final int FAILED = 1;
  /** The proxy's own timer: a keyed request's time at the upstream, to its status line. */
  static final String UPSTREAM_TIME = "once.proxy.upstream";
  /**
   * Keyed requests sent to the upstream, tagged by the lane that ran them: {@code core} (decided
   * and run on Jetty's core) or {@code servlet} (through the servlet context and the filter).
   */
  static final String UPSTREAM_CALLS = "once.proxy.upstream.calls";

  /**
   * The engine's own warnings, through {@code java.util.logging}: {@link StoreErrorLog} says the
   * same in one line without the client's key, so they are turned off in the proxy's process.
   * Held here because {@code java.util.logging} forgets the level of a logger nobody references.
   */
  private static final java.util.logging.Logger ENGINE_LOG =
      java.util.logging.Logger.getLogger("dev.once");

  private OnceProxy() {}

  /**
   * Runs the proxy until it is stopped by a signal.
   *
   * @param args the flags
   */
  public static void main(String[] args) {
    ENGINE_LOG.setLevel(java.util.logging.Level.OFF);
    System.exit(run(args, System.getenv(), System.out, System.err, false));
  }

  /**
   * Parses, starts, announces, waits for a signal, stops.
   *
   * @param plain true for the benchmark's baseline: the same server without idempotency
   * @return the exit status
   */
  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err,
      boolean plain) {
    String name = plain ? "plain-proxy" : "once-proxy";
    ProxyOptions options;
    try {
      options = ProxyOptions.parse(args, env);
    } catch (UsageException e) {
      err.println(name + ": " + e.getMessage());
      return USAGE;
    }
    if (options.help) {
      out.print(ProxyOptions.help());
      out.flush();
      return 0;
    }
    Running proxy;
    try {
      proxy = plain ? startPlain(options) : start(options);
    } catch (StartupException e) {
      err.println(name + ": " + e.getMessage());
      return e.status;
    }
    stopOnSignals(proxy, err, name);
    if (proxy.demoUri() != null) {
      err.println(name + ": no --upstream given: forwarding to the built-in demo upstream"
          + " (POST /payments)");
    }
    if (proxy.adminPort() >= 0) {
      err.println(name + ": admin API on " + proxy.adminUri() + AdminHandler.KEYS + "/{key}");
    }
    out.println(name + " listening on " + proxy.uri());
    out.flush();
    proxy.awaitStopped();
    // said here, not by the signal's thread: main returning ends the JVM, which could cut it off
    err.println(proxy.stoppedGracefully()
        ? name + ": stopped"
        : name + ": stopped; some requests were still in flight after the wait");
    return 0;
  }

  /**
   * Opens the store the options name and starts a proxy that owns it: stopping the proxy closes it.
   *
   * @throws StartupException if the store is unknown or unreachable, or the proxy cannot listen
   */
  static Running start(ProxyOptions options) {
    IdempotencyStore store = options.isMemoryStore()
        ? options.memoryStore()
        : openStore(options.store);
    try {
      return start(options, store, true);
    } catch (RuntimeException | Error e) {
      store.close();
      throw e;
    }
  }

  /**
   * Starts a proxy over {@code store}.
   *
   * @param ownsStore true to close the store when the proxy stops
   * @throws StartupException if the proxy cannot listen
   */
  static Running start(ProxyOptions options, IdempotencyStore store, boolean ownsStore) {
    StoreErrorLog log = new StoreErrorLog(options.store.redacted());
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    String type = options.store.scheme();
    StoreState state = StoreState.bind(store, type, registry);
    Once once;
    try {
      once = options.engine(MeteredStore.wrap(store, registry))
          .listener(OnceListener.of(List.of(log, OnceMeters.bind(registry))))
          .build();
    } catch (IllegalArgumentException e) {
      // parse checked every engine flag on a builder of its own, so this is not expected
      throw new StartupException(USAGE, e.getMessage());
    }
    Timer upstream = Timer.builder(UPSTREAM_TIME)
        .description("Time from a keyed request sent to the upstream to its status line")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(options.upstreamTimeout)
        .register(registry);
    AccessLog accessLog = null;
    if (options.accessLog != null) {
      try {
        accessLog = AccessLog.open(options.accessLog, once, registry);
      } catch (IOException | RuntimeException e) {
        throw new StartupException(FAILED, "--access-log " + options.accessLog
            + ": cannot open it: " + StoreErrorLog.oneLine(e));
      }
    }
    try {
      ProxyServer server = listen(options, new ProxyServer.Mode.Idempotent(once,
          next -> new HealthHandler(state, type, log, registry, next), upstream,
          upstreamCalls(registry, "core"), upstreamCalls(registry, "servlet"), accessLog));
      return new Running(server, ownsStore ? store : null, accessLog);
    } catch (RuntimeException | Error e) {
      if (accessLog != null) {
        accessLog.close();
      }
      throw e;
    }
  }

  private static Counter upstreamCalls(MeterRegistry registry, String lane) {
    return Counter.builder(UPSTREAM_CALLS)
        .description("Keyed requests sent to the upstream, by the lane that ran them")
        .tag("lane", lane)
        .register(registry);
  }

  /**
   * Starts the benchmark's baseline: the same server without idempotency or health endpoint.
   *
   * @throws StartupException if the proxy cannot listen
   */
  static Running startPlain(ProxyOptions options) {
    return new Running(listen(options, new ProxyServer.Mode.Plain()), null, null);
  }

  private static ProxyServer listen(ProxyOptions options, ProxyServer.Mode mode) {
    try {
      return ProxyServer.start(options, mode);
    } catch (Exception e) {
      String where = options.listenHost + ":" + options.listenPort;
      Throwable cause = e;
      while (cause.getCause() != null && !(cause instanceof BindException)) {
        cause = cause.getCause();
      }
      if (cause instanceof BindException || e instanceof IOException) {
        throw new StartupException(FAILED, "cannot listen on " + where + ": "
            + StoreErrorLog.oneLine(cause));
      }
      throw new StartupException(FAILED, "cannot start: " + StoreErrorLog.oneLine(e));
    }
  }

  private static IdempotencyStore openStore(StoreUrl url) {
    IdempotencyStore store;
    try {
      store = Stores.open(url);
    } catch (UnknownStoreException e) {
      throw new StartupException(USAGE, "--store " + url + ": the " + e.scheme() + " store is not"
          + " available in this build (available: " + String.join(", ", e.available()) + ")");
    } catch (MalformedStoreUrlException e) {
      throw new StartupException(USAGE, "--store: " + StoreErrorLog.oneLine(e));
    } catch (RuntimeException | ServiceConfigurationError e) {
      throw new StartupException(FAILED, "cannot open the store " + url + ": "
          + url.hideSecrets(StoreErrorLog.oneLine(e)));
    }
    try {
      store.ping();
    } catch (RuntimeException e) {
      store.close();
      throw new StartupException(FAILED, "cannot reach the store " + url + ": "
          + url.hideSecrets(StoreErrorLog.oneLine(e)));
    }
    return store;
  }

  private static void stopOnSignals(Running proxy, PrintStream err, String name) {
    for (String signal : List.of("TERM", "INT")) {
      try {
        Signal.handle(new Signal(signal), s -> {
          if (proxy.isStopping()) {
            // asked twice: stop now, without waiting for requests in flight
            Runtime.getRuntime().halt(FAILED);
          }
          err.println(name + ": SIG" + signal + ": no new connections; finishing the requests in"
              + " flight");
          proxy.stop();
        });
      } catch (IllegalArgumentException e) {
        // the JVM handles no such signal here (-Xrs, or another platform): its default applies
      }
    }
  }

  /** A proxy that could not start: a one-line reason and the exit status. */
  static final class StartupException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;

    StartupException(int status, @Nullable String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  /** A started proxy, and the store it closes when it stops. */
  static final class Running {
    private final ProxyServer server;
    private final @Nullable IdempotencyStore ownedStore;
    private final @Nullable AccessLog accessLog;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean graceful;

    Running(ProxyServer server, @Nullable IdempotencyStore ownedStore,
        @Nullable AccessLog accessLog) {
      this.server = server;
      this.ownedStore = ownedStore;
      this.accessLog = accessLog;
    }

    int port() {
      return server.port();
    }

    String uri() {
      return server.uri();
    }

    @Nullable URI demoUri() {
      return server.demoUri();
    }

    /** @return the admin listener's port, or -1 without {@code --admin-listen} */
    int adminPort() {
      return server.adminPort();
    }

    /** @return {@code http://HOST:PORT} of the admin listener, or null without one */
    @Nullable String adminUri() {
      return server.adminUri();
    }

    boolean isStopping() {
      return stopping.get();
    }

    /**
     * Stops gracefully (see {@link ProxyServer#stop()}), then closes the store if the proxy owns
     * it. A second call waits for the first.
     *
     * @return true if every request in flight finished in time
     */
    boolean stop() {
      if (stopping.compareAndSet(false, true)) {
        try {
          graceful = server.stop();
          if (accessLog != null) {
            accessLog.close(); // the lines of the requests that finished are written
          }
          if (ownedStore != null) {
            ownedStore.close();
          }
        } finally {
          stopped.countDown();
        }
      } else {
        awaitStopped();
      }
      return graceful;
    }

    /** @return true if the proxy has stopped and every request in flight finished in time */
    boolean stoppedGracefully() {
      return graceful;
    }

    void awaitStopped() {
      boolean interrupted = false;
      while (true) {
        try {
          stopped.await();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
