package dev.once.proxy;

import dev.once.Once;
import dev.once.servlet.OnceFilter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.jspecify.annotations.Nullable;

/**
 * The proxy's Jetty server: {@link OnceFilter} in front of {@link UpstreamServlet}, so the proxy is
 * the library's filter and Jetty's proxy servlet put together, with a fast lane beside them for
 * the requests the engine passes through ({@link UpstreamHandler}), plus the health endpoint and,
 * when no upstream is given, the demo upstream; with {@code --admin-listen}, a second server on
 * its own address serves the admin API ({@link AdminHandler}), whose paths the public one
 * refuses. Stopping it is graceful: it stops accepting connections and waits up to the upstream
 * timeout (plus a moment to answer) for the requests in flight, whose records are finished as
 * they complete.
 */
final class ProxyServer {
  /** Time left after the upstream timeout for a request to write its 504 during a stop. */
  private static final Duration STOP_MARGIN = Duration.ofSeconds(2);
  /** Connections the kernel may hold for the proxy before it accepts them (as nginx's 511). */
  private static final int ACCEPT_QUEUE = 1024;
  /** The shortest time a connection to the upstream may sit idle in the pool. */
  private static final Duration POOL_IDLE_MIN = Duration.ofSeconds(1);
  /** Time a client's connection may stay idle past the longest it may have to wait. */
  private static final Duration IDLE_MARGIN = Duration.ofSeconds(5);

  private final Server server;
  private final ServerConnector connector;
  private final @Nullable Server demo;
  private final String host;
  /** The admin listener's server, or null without {@code --admin-listen}. */
  private final @Nullable Server admin;

  private ProxyServer(Server server, ServerConnector connector, @Nullable Server demo, String host,
      @Nullable Server admin) {
    this.server = server;
    this.connector = connector;
    this.demo = demo;
    this.host = host;
    this.admin = admin;
  }

  /**
   * Starts a proxy.
   *
   * @param options the configuration
   * @param mode what stands in front of the upstream
   * @return the started proxy
   * @throws Exception if it cannot start (the address is taken, say); nothing is left running
   */
  static ProxyServer start(ProxyOptions options, Mode mode) throws Exception {
    Server demo = null;
    URI upstream = options.upstream;
    if (upstream == null) {
      demo = DemoUpstream.start("127.0.0.1", 0);
      upstream = URI.create("http://127.0.0.1:" + port(demo));
    }
    Server server = new Server(threadPool());
    Server admin = null;
    try {
      HttpConfiguration http = new HttpConfiguration();
      // the upstream's own Server and Date headers pass through; the proxy adds none
      http.setSendServerVersion(false);
      http.setSendDateHeader(false);
      ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
      connector.setHost(options.listenHost);
      connector.setPort(options.listenPort);
      // a burst of new connections (hundreds of clients retrying at once) waits to be accepted
      // instead of overflowing the JDK's default backlog of 50
      connector.setAcceptQueueSize(ACCEPT_QUEUE);
      // longer than a client may have to wait with nothing sent to it (the upstream's silence,
      // a duplicate's wait for the replay), and than a keyed body may take to arrive, so the
      // connector never cuts a client off before the proxy answers it
      Duration quiet = options.upstreamTimeout;
      if (mode instanceof Mode.Idempotent idempotent) {
        quiet = max(max(quiet, idempotent.once().maxWait()), idempotent.once().bodyTimeout());
      }
      connector.setIdleTimeout(Math.max(30_000, quiet.plus(IDLE_MARGIN).toMillis()));
      server.addConnector(connector);

      server.setErrorHandler(new ProblemErrorHandler());
      ServletContextHandler context = new ServletContextHandler();
      context.setContextPath("/");
      context.setErrorHandler(new ProblemErrorHandler.Servlet());
      UpstreamServlet upstreamServlet;
      Handler handler = context;
      if (mode instanceof Mode.Idempotent idempotent) {
        // keyed bodies are read without holding a thread; the request then goes on in an ASYNC
        // dispatch, which the filter must see too
        FilterHolder filter = new FilterHolder(
            new OnceFilter(idempotent.once(), OnceFilter.BodyReading.NON_BLOCKING));
        filter.setAsyncSupported(true);
        context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC));
        upstreamServlet = new KeyedUpstreamServlet(idempotent.once(), options.upstreamTimeout,
            options.upstreamDeadline, idempotent.upstreamTime(), idempotent.servletCalls());
        // a request the engine passes through skips the servlet layer, forwarded as the servlet
        // forwards it
        UpstreamHandler fast = new UpstreamHandler(upstream, options.upstreamTimeout,
            poolIdle(options));
        handler = new Dispatch.NonBlocking(AdminHandler.refusedOnThePublicListener(
            idempotent.health().wrap(new UpstreamHandler.Lanes(idempotent.once(), fast, context,
                new KeyedLane.Calls(options.upstreamTimeout, options.upstreamDeadline,
                    idempotent.upstreamTime(), idempotent.coreCalls())))));
        if (idempotent.accessLog() != null) {
          // called when each request has ended, on the thread that ended it
          server.setRequestLog(idempotent.accessLog());
        }
      } else {
        upstreamServlet = new UpstreamServlet(options.upstreamTimeout);
      }
      ServletHolder proxy = new ServletHolder("upstream", upstreamServlet);
      proxy.setAsyncSupported(true);
      proxy.setInitParameter("proxyTo", upstream.toString());
      proxy.setInitParameter("viaHost", "once-proxy");
      // how long a connection to the upstream may sit idle in the pool; never under a second, so
      // a connection being opened is not timed out before a request is on it (the silence of
      // a request is bounded per request: UpstreamServlet, KeyedCall)
      proxy.setInitParameter("idleTimeout", Long.toString(poolIdle(options).toMillis()));
      proxy.setInitParameter("timeout", "0");
      proxy.setInitParameter("maxConnections", "1024");
      context.addServlet(proxy, "/*");

      server.setHandler(new GracefulHandler(handler));
      server.setStopTimeout(options.upstreamTimeout.plus(STOP_MARGIN).toMillis());
      server.setStopAtShutdown(false); // OnceProxy stops it on SIGTERM, then closes the store
      if (mode instanceof Mode.Idempotent idempotent && options.adminHost != null) {
        admin = adminServer(options, idempotent.once());
        admin.start();
      }
      server.start();
      return new ProxyServer(server, connector, demo, options.listenHost, admin);
    } catch (Exception | Error e) {
      stopQuietly(server);
      stopQuietly(admin);
      stopQuietly(demo);
      throw e;
    }
  }

  /**
   * The admin listener: a server of its own, with a few threads, so that admin requests never
   * share the public listener's address, threads or handlers.
   */
  private static Server adminServer(ProxyOptions options, Once once) {
    QueuedThreadPool threads = new QueuedThreadPool(8, 2);
    threads.setName("once-proxy-admin");
    Server admin = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    ServerConnector connector = new ServerConnector(admin, new HttpConnectionFactory(http));
    connector.setHost(options.adminHost);
    connector.setPort(options.adminPort);
    admin.addConnector(connector);
    admin.setErrorHandler(new ProblemErrorHandler());
    admin.setHandler(new AdminHandler(once, options.adminToken));
    admin.setStopAtShutdown(false);
    return admin;
  }

  /**
   * @return how long a connection to the upstream may sit idle in the pool: the upstream timeout,
   *     never under a second
   */
  private static Duration poolIdle(ProxyOptions options) {
    return max(POOL_IDLE_MIN, options.upstreamTimeout);
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  private static QueuedThreadPool threadPool() {
    QueuedThreadPool threads = new QueuedThreadPool(256, 8);
    threads.setName("once-proxy");
    return threads;
  }

  private static int port(Server server) {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  /** @return the port it listens on */
  int port() {
    return connector.getLocalPort();
  }

  /** @return {@code http://HOST:PORT}, with the real port */
  String uri() {
    String shown = host.contains(":") ? "[" + host + "]" : host;
    return "http://" + shown + ":" + port();
  }

  /** @return the admin listener's port, or -1 without one */
  int adminPort() {
    return admin == null ? -1 : port(admin);
  }

  /** @return {@code http://HOST:PORT} of the admin listener, with the real port, or null */
  @Nullable String adminUri() {
    if (admin == null) {
      return null;
    }
    String adminHost = ((ServerConnector) admin.getConnectors()[0]).getHost();
    String shown = adminHost.contains(":") ? "[" + adminHost + "]" : adminHost;
    return "http://" + shown + ":" + adminPort();
  }

  /** @return the demo upstream's URI, or null when the proxy forwards to a given upstream */
  @Nullable URI demoUri() {
    return demo == null ? null : URI.create("http://127.0.0.1:" + port(demo));
  }

  /**
   * Stops gracefully: no new connections, requests in flight finish (up to the upstream timeout),
   * then everything stops. Blocks until done.
   *
   * @return true if every request in flight finished in time
   */
  boolean stop() {
    boolean graceful = true;
    try {
      server.stop();
    } catch (Exception e) {
      graceful = false; // Jetty reports a shutdown that timed out as a failure of stop
    }
    stopQuietly(admin);
    stopQuietly(demo);
    return graceful;
  }

  private static void stopQuietly(@Nullable Server server) {
    if (server == null) {
      return;
    }
    try {
      server.stop();
    } catch (Exception ignored) {
      // already failing or stopping: nothing more to do with it
    }
  }

  /** What stands in front of the upstream servlet. */
  sealed interface Mode {
    /**
     * once-proxy: the idempotency filter over {@code once}, the servlet that keys requests, the
     * health and metrics endpoints, the upstream's time measured into {@code upstreamTime}, the
     * keyed calls run on the core and through the servlet context counted into {@code coreCalls}
     * and {@code servletCalls}, and the access log if there is one.
     */
    record Idempotent(Once once, HealthFactory health, Timer upstreamTime, Counter coreCalls,
        Counter servletCalls, @Nullable RequestLog accessLog) implements Mode {
      public Idempotent {
        Objects.requireNonNull(once, "once");
        Objects.requireNonNull(health, "health");
        Objects.requireNonNull(upstreamTime, "upstreamTime");
        Objects.requireNonNull(coreCalls, "coreCalls");
        Objects.requireNonNull(servletCalls, "servletCalls");
      }
    }

    /**
     * The benchmark's baseline: the same server and upstream servlet with no filter and no health
     * endpoint, so a benchmark measures what the idempotency adds.
     */
    record Plain() implements Mode {}
  }

  /** Puts the health endpoint in front of the proxy. */
  @FunctionalInterface
  interface HealthFactory {
    Handler wrap(Handler next);
  }
}
