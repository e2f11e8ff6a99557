package dev.once.proxy;

import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.time.Duration;
import java.util.EnumSet;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The proxy's Jetty server: {@link OnceFilter} in front of {@link UpstreamServlet}, so the proxy is
 * the library's filter and Jetty's proxy servlet put together, plus the health endpoint and, when
 * no upstream is given, the demo upstream. Stopping it is graceful: it stops accepting connections
 * and waits up to the upstream timeout (plus a moment to answer) for the requests in flight, whose
 * records are finished as they complete.
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
  private final Server demo;
  private final String host;

  private ProxyServer(Server server, ServerConnector connector, Server demo, String host) {
    this.server = server;
    this.connector = connector;
    this.demo = demo;
    this.host = host;
  }

  /**
   * Starts a proxy.
   *
   * @param options the configuration
   * @param once the engine, or null for a plain forwarding proxy (the benchmark's baseline)
   * @param health the health endpoint's handler factory, or null for none
   * @return the started proxy
   * @throws Exception if it cannot start (the address is taken, say); nothing is left running
   */
  static ProxyServer start(ProxyOptions options, Once once, HealthFactory health)
      throws Exception {
    Server demo = null;
    URI upstream = options.upstream;
    if (upstream == null) {
      demo = DemoUpstream.start("127.0.0.1", 0);
      upstream = URI.create("http://127.0.0.1:" + port(demo));
    }
    Server server = new Server(threadPool());
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
      Duration quiet = once == null ? options.upstreamTimeout
          : max(max(options.upstreamTimeout, once.maxWait()), once.bodyTimeout());
      connector.setIdleTimeout(Math.max(30_000, quiet.plus(IDLE_MARGIN).toMillis()));
      server.addConnector(connector);

      server.setErrorHandler(new ProblemErrorHandler());
      ServletContextHandler context = new ServletContextHandler();
      context.setContextPath("/");
      context.setErrorHandler(new ProblemErrorHandler.Servlet());
      if (once != null) {
        // keyed bodies are read without holding a thread; the request then goes on in an ASYNC
        // dispatch, which the filter must see too
        FilterHolder filter =
            new FilterHolder(new OnceFilter(once, OnceFilter.BodyReading.NON_BLOCKING));
        filter.setAsyncSupported(true);
        context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC));
      }
      ServletHolder proxy = new ServletHolder("upstream",
          new UpstreamServlet(once, options.upstreamTimeout, options.upstreamDeadline));
      proxy.setAsyncSupported(true);
      proxy.setInitParameter("proxyTo", upstream.toString());
      proxy.setInitParameter("viaHost", "once-proxy");
      // how long a connection to the upstream may sit idle in the pool; never under a second, so
      // a connection being opened is not timed out before a request is on it (the silence of
      // a request is bounded per request: UpstreamServlet, KeyedCall)
      proxy.setInitParameter("idleTimeout",
          Long.toString(Math.max(POOL_IDLE_MIN.toMillis(), options.upstreamTimeout.toMillis())));
      proxy.setInitParameter("timeout", "0");
      proxy.setInitParameter("maxConnections", "1024");
      context.addServlet(proxy, "/*");

      Handler handler = health == null ? context : health.wrap(context);
      server.setHandler(new GracefulHandler(handler));
      server.setStopTimeout(options.upstreamTimeout.plus(STOP_MARGIN).toMillis());
      server.setStopAtShutdown(false); // OnceProxy stops it on SIGTERM, then closes the store
      server.start();
      return new ProxyServer(server, connector, demo, options.listenHost);
    } catch (Exception | Error e) {
      stopQuietly(server);
      stopQuietly(demo);
      throw e;
    }
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

  /** @return the demo upstream's URI, or null when the proxy forwards to a given upstream */
  URI demoUri() {
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
    stopQuietly(demo);
    return graceful;
  }

  private static void stopQuietly(Server server) {
    if (server == null) {
      return;
    }
    try {
      server.stop();
    } catch (Exception ignored) {
      // already failing or stopping: nothing more to do with it
    }
  }

  /** Puts the health endpoint in front of the proxy. */
  @FunctionalInterface
  interface HealthFactory {
    Handler wrap(Handler next);
  }
}
