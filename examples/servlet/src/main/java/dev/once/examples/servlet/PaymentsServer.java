package dev.once.examples.servlet;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** A payments service on Jetty 12 whose {@code POST /payments} runs once per Idempotency-Key. */
public final class PaymentsServer {
  private PaymentsServer() {}

  /** POST charges a card, so it must run once per key; GET counts the charges made. */
  static final class PaymentsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final AtomicLong executions = new AtomicLong();

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      request.getInputStream().readAllBytes(); // the payment to make
      long n = executions.incrementAndGet();
      response.setStatus(HttpServletResponse.SC_CREATED);
      response.setHeader("Location", "/payments/pay_" + n);
      response.setContentType("application/json");
      response.getWriter().write(
          "{\"id\":\"pay_" + n + "\",\"status\":\"created\",\"executions\":" + n + "}\n");
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      response.setContentType("application/json");
      response.getWriter().write("{\"executions\":" + executions.get() + "}\n");
    }
  }

  /** Starts the service on {@code host:port} (port 0: a free one); the caller stops it. */
  public static Server start(String host, int port) throws Exception {
    Once once = Once.builder(MemoryStore.create())
        .ttl(Duration.ofHours(1))
        .requireKey(true)
        .build();

    ServletContextHandler context = new ServletContextHandler();
    FilterHolder filter = new FilterHolder(new OnceFilter(once));
    filter.setAsyncSupported(true);
    context.addFilter(filter, "/payments", EnumSet.of(DispatcherType.REQUEST));
    context.addServlet(new ServletHolder(new PaymentsServlet()), "/payments");

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(context);
    server.start();
    return server;
  }

  public static void main(String[] args) throws Exception {
    String port = System.getenv("PORT");
    Server server = start("127.0.0.1",
        port == null || port.isBlank() ? 8080 : Integer.parseInt(port));
    int listening = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    System.out.println("once servlet example listening on http://127.0.0.1:" + listening);
    server.join();
  }
}
