package dev.once.servlet.example;

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
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;

/**
 * The README's usage example: a payments endpoint behind {@link OnceFilter} on Jetty 12. Run with
 * {@code java ... ExampleServer [port]}; the README shows a curl session against it.
 */
public final class ExampleServer {
  private ExampleServer() {}

  /** The handler: each run charges a card, so it must run once per key. */
  static final class PaymentsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final AtomicInteger charges = new AtomicInteger();

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      int charge = charges.incrementAndGet();
      response.setStatus(201);
      response.setContentType("application/json");
      response.getWriter().write("{\"status\":\"created\",\"charge\":" + charge + "}");
    }
  }

  public static Server start(int port) throws Exception {
    MemoryStore store = MemoryStore.create();
    Once once = Once.builder(store)
        .ttl(Duration.ofHours(1))
        .requireKey(true)
        .build();

    ServletContextHandler context = new ServletContextHandler();
    FilterHolder filter = new FilterHolder(new OnceFilter(once));
    filter.setAsyncSupported(true);
    context.addFilter(filter, "/payments", EnumSet.of(DispatcherType.REQUEST));
    context.addServlet(new ServletHolder(new PaymentsServlet()), "/payments");

    Server server = new Server(port);
    server.setHandler(context);
    server.start();
    return server;
  }

  public static void main(String[] args) throws Exception {
    Server server = start(args.length > 0 ? Integer.parseInt(args[0]) : 8080);
    System.out.println("example listening on " + server.getURI());
    server.join();
  }
}
