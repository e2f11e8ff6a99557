package dev.once.benchmarks.http;

import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * One Jetty 12 server on a free loopback port with the same trivial POST handler under one path
 * per mode: {@code /bare/payments} without a filter, and {@code /<mode>/payments} behind an {@link
 * OnceFilter} for each configured engine. One server for every mode, so the modes share the
 * connector, thread pool and JIT, and differ only by the filter.
 */
final class BenchServer implements ModeServer {
  static final String BARE = "bare";
  static final byte[] CREATED = "{\"status\":\"created\"}".getBytes(StandardCharsets.UTF_8);

  private final Server server;
  private final int port;

  private BenchServer(Server server, int port) {
    this.server = server;
    this.port = port;
  }

  /**
   * Starts the server.
   *
   * @param filtered the engine of each filtered mode, by mode name
   * @return the running server
   */
  static BenchServer start(Map<String, Once> filtered) throws Exception {
    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    ServletHolder payments = new ServletHolder(new PaymentsServlet());
    context.addServlet(payments, path(BARE));
    for (Map.Entry<String, Once> mode : filtered.entrySet()) {
      FilterHolder filter = new FilterHolder(new OnceFilter(mode.getValue()));
      filter.setAsyncSupported(true);
      context.addFilter(filter, path(mode.getKey()), EnumSet.of(DispatcherType.REQUEST));
      context.addServlet(payments, path(mode.getKey()));
    }
    server.setHandler(context);
    server.start();
    return new BenchServer(server, connector.getLocalPort());
  }

  @Override
  public URI uri(String mode) {
    return URI.create("http://127.0.0.1:" + port + path(mode));
  }

  private static String path(String mode) {
    return "/" + mode + "/payments";
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }

  /** The trivial handler: reads the body, answers 201 with a small JSON document. */
  static final class PaymentsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      try (InputStream in = request.getInputStream()) {
        in.transferTo(OutputStream.nullOutputStream());
      }
      response.setStatus(HttpServletResponse.SC_CREATED);
      response.setContentType("application/json");
      response.setContentLength(CREATED.length);
      response.getOutputStream().write(CREATED);
    }
  }
}
