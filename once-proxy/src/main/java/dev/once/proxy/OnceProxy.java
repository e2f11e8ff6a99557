package dev.once.proxy;

import dev.once.Once;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreProvider;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
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
    StoreErrorLog log = new StoreErrorLog(StoreUrls.redact(options.store));
    Once once;
    try {
      once = options.engine(store).listener(log).build();
    } catch (IllegalArgumentException e) {
      // parse checked every engine flag on a builder of its own, so this is not expected
      throw new StartupException(USAGE, e.getMessage());
    }
    String type = StoreUrls.type(options.store);
    ProxyServer server = listen(options, once,
        next -> new HealthHandler(store, type, log, next));
    return new Running(server, ownsStore ? store : null);
  }

  private static Running startPlain(ProxyOptions options) {
    return new Running(listen(options, null, null), null);
  }

  private static ProxyServer listen(ProxyOptions options, Once once,
      ProxyServer.HealthFactory health) {
    try {
      return ProxyServer.start(options, once, health);
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

  private static IdempotencyStore openStore(String url) {
    String shown = StoreUrls.redact(url);
    IdempotencyStore store;
    try {
      store = IdempotencyStore.open(url);
    } catch (IllegalArgumentException e) {
      List<String> available = new ArrayList<>();
      boolean accepted = availableStores(url, available);
      if (!accepted) {
        throw new StartupException(USAGE, "--store " + shown + ": the " + StoreUrls.type(url)
            + " store is not available in this build (available: " + String.join(", ", available)
            + ")");
      }
      throw new StartupException(USAGE, "--store " + shown + ": "
          + StoreErrorLog.oneLine(e).replace(url, shown));
    } catch (RuntimeException | ServiceConfigurationError e) {
      throw new StartupException(FAILED, "cannot open the store " + shown + ": "
          + StoreErrorLog.oneLine(e).replace(url, shown));
    }
    try {
      store.ping();
    } catch (RuntimeException e) {
      store.close();
      throw new StartupException(FAILED, "cannot reach the store " + shown + ": "
          + StoreErrorLog.oneLine(e).replace(url, shown));
    }
    return store;
  }

  /**
   * @param available receives the schemes of the stores in this build
   * @return true if a store module in this build accepts {@code url}
   */
  private static boolean availableStores(String url, List<String> available) {
    available.add("memory");
    boolean accepted = false;
    for (StoreProvider provider : ServiceLoader.load(StoreProvider.class)) {
      available.add(provider.schemes());
      accepted |= provider.accepts(url.trim());
    }
    return accepted;
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

    StartupException(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  /** A started proxy, and the store it closes when it stops. */
  static final class Running {
    private final ProxyServer server;
    private final IdempotencyStore ownedStore;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean graceful;

    Running(ProxyServer server, IdempotencyStore ownedStore) {
      this.server = server;
      this.ownedStore = ownedStore;
    }

    int port() {
      return server.port();
    }

    String uri() {
      return server.uri();
    }

    URI demoUri() {
      return server.demoUri();
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
