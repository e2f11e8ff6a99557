package dev.once.suite;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Starts a real Jetty 12 server on a free port of {@code 127.0.0.1}, with a filter ({@code once}'s
 * {@code OnceFilter}, in the tests that start one) in front of every path and the test's servlets
 * behind it, filter and servlets async-supported, as an application registers them. Needs {@code
 * jetty-ee10-servlet} on the class path (this jar does not bring it).
 */
public final class JettyServer {
  private JettyServer() {}

  /**
   * @param filter the filter in front of every path, for requests (not for async or error
   *     dispatches)
   * @param servlets the servlet at each path spec, as a servlet mapping ({@code /payments}, {@code
   *     /*})
   * @return the started server, on Jetty's defaults
   * @throws Exception if it cannot start
   */
  public static RunningServer start(Filter filter, Map<String, ServletHandler> servlets)
      throws Exception {
    return start(filter, EnumSet.of(DispatcherType.REQUEST), servlets, 0, 0);
  }

  /**
   * @param filter the filter in front of every path
   * @param dispatcherTypes the dispatches the filter is registered for
   * @param servlets the servlet at each path spec, as a servlet mapping
   * @param maxThreads when positive, the most request threads; zero, Jetty's default
   * @param idleTimeoutMillis when positive, the connector's idle timeout, which bounds each
   *     blocking read; zero, Jetty's default
   * @return the started server
   * @throws Exception if it cannot start
   */
  public static RunningServer start(Filter filter, EnumSet<DispatcherType> dispatcherTypes,
      Map<String, ServletHandler> servlets, int maxThreads, long idleTimeoutMillis)
      throws Exception {
    Server server =
        maxThreads > 0 ? new Server(new QueuedThreadPool(maxThreads, 2)) : new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    if (idleTimeoutMillis > 0) {
      connector.setIdleTimeout(idleTimeoutMillis);
    }
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    FilterHolder holder = new FilterHolder(filter);
    holder.setAsyncSupported(true);
    context.addFilter(holder, "/*", dispatcherTypes);
    servlets.forEach((path, handler) -> {
      ServletHolder servlet = new ServletHolder(handler.asServlet());
      servlet.setAsyncSupported(true);
      context.addServlet(servlet, path);
    });
    server.setHandler(context);
    server.start();
    return RunningServer.of(connector.getLocalPort(), server::stop);
  }
}
