package dev.once.servlet;

import dev.once.Once;
import dev.once.suite.RunningServer;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A real servlet container, Jetty 12 or Tomcat 11, with {@link OnceFilter} in front of the test's
 * servlets.
 */
final class TestServer implements RunningServer {
  /** The containers the filter is tested in. */
  enum Container {
    JETTY,
    TOMCAT
  }

  private final AutoCloseable server;
  private final int port;

  private TestServer(AutoCloseable server, int port) {
    this.server = server;
    this.port = port;
  }

  /** @return a builder of a Jetty server */
  static Builder with(Once once) {
    return new Builder(once, Container.JETTY);
  }

  static Builder with(Once once, Container container) {
    return new Builder(once, container);
  }

  @Override
  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  @Override
  public int port() {
    return port;
  }

  /** Sends raw bytes (for requests no well-behaved client would send) and returns the answer. */
  String raw(String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      in.transferTo(answer);
      return answer.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @Override
  public void close() throws Exception {
    server.close();
  }

  /** What a test servlet does. */
  @FunctionalInterface
  interface Handler {
    void handle(HttpServletRequest request, HttpServletResponse response) throws Exception;
  }

  static final class Builder {
    private final Once once;
    private final Container container;
    private final Map<String, Handler> handlers = new LinkedHashMap<>();
    private int maxThreads;
    private OnceFilter.BodyReading bodyReading = OnceFilter.BodyReading.BLOCKING;
    private long idleTimeoutMillis;
    private EnumSet<DispatcherType> dispatcherTypes;

    private Builder(Once once, Container container) {
      this.once = once;
      this.container = container;
    }

    Builder handle(String path, Handler handler) {
      handlers.put(path, handler);
      return this;
    }

    /** Bounds the container's request threads, to show what holds one and what does not. */
    Builder maxThreads(int maxThreads) {
      this.maxThreads = maxThreads;
      return this;
    }

    /**
     * How the filter reads keyed bodies; non-blocking registers it for the {@code ASYNC}
     * dispatcher type too, as it must be.
     */
    Builder bodyReading(OnceFilter.BodyReading bodyReading) {
      this.bodyReading = bodyReading;
      return this;
    }

    /** Sets the container's idle timeout, which bounds each blocking read. */
    Builder idleTimeout(long millis) {
      this.idleTimeoutMillis = millis;
      return this;
    }

    /** Registers the filter for these dispatcher types only (a misconfiguration, say). */
    Builder dispatcherTypes(EnumSet<DispatcherType> types) {
      this.dispatcherTypes = types;
      return this;
    }

    private EnumSet<DispatcherType> dispatcherTypes() {
      if (dispatcherTypes != null) {
        return dispatcherTypes;
      }
      return bodyReading == OnceFilter.BodyReading.NON_BLOCKING
          ? EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC)
          : EnumSet.of(DispatcherType.REQUEST);
    }

    TestServer start() throws Exception {
      return container == Container.JETTY ? startJetty() : startTomcat();
    }

    private TestServer startTomcat() throws Exception {
      Path base = Files.createTempDirectory("once-tomcat");
      Tomcat tomcat = new Tomcat();
      tomcat.setBaseDir(base.toString());
      Connector connector = new Connector();
      connector.setPort(0);
      connector.setProperty("address", "127.0.0.1");
      if (maxThreads > 0) {
        connector.setProperty("maxThreads", Integer.toString(maxThreads));
        connector.setProperty("minSpareThreads", "2");
        connector.setProperty("maxConnections", "2000");
      }
      if (idleTimeoutMillis > 0) {
        connector.setProperty("connectionTimeout", Long.toString(idleTimeoutMillis));
      }
      tomcat.getService().addConnector(connector);
      tomcat.setConnector(connector);
      Context context = tomcat.addContext("", base.toString());
      FilterDef filter = new FilterDef();
      filter.setFilterName("once");
      filter.setFilter(new OnceFilter(once, bodyReading));
      filter.setAsyncSupported("true");
      context.addFilterDef(filter);
      FilterMap mapping = new FilterMap();
      mapping.setFilterName("once");
      mapping.addURLPattern("/*");
      for (DispatcherType type : dispatcherTypes()) {
        mapping.setDispatcher(type.name());
      }
      context.addFilterMap(mapping);
      int[] index = {0};
      handlers.forEach((path, handler) -> {
        String name = "servlet" + index[0]++;
        Tomcat.addServlet(context, name, servlet(handler)).setAsyncSupported(true);
        context.addServletMappingDecoded(path, name);
      });
      tomcat.start();
      return new TestServer(() -> {
        tomcat.stop();
        tomcat.destroy();
        deleteTree(base);
      }, connector.getLocalPort());
    }

    /** Tomcat's base directory, which it leaves behind: a test run made hundreds. */
    private static void deleteTree(Path root) throws java.io.IOException {
      try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }

    private static HttpServlet servlet(Handler handler) {
      return new HttpServlet() {
        private static final long serialVersionUID = 1L;

        @Override
        protected void service(HttpServletRequest request, HttpServletResponse response) {
          try {
            handler.handle(request, response);
          } catch (RuntimeException e) {
            throw e;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
      };
    }

    private TestServer startJetty() throws Exception {
      Server server = maxThreads > 0
          ? new Server(new org.eclipse.jetty.util.thread.QueuedThreadPool(maxThreads, 2))
          : new Server();
      ServerConnector connector = new ServerConnector(server);
      connector.setHost("127.0.0.1");
      connector.setPort(0);
      if (idleTimeoutMillis > 0) {
        connector.setIdleTimeout(idleTimeoutMillis);
      }
      server.addConnector(connector);
      ServletContextHandler context = new ServletContextHandler();
      context.setContextPath("/");
      FilterHolder filter = new FilterHolder(new OnceFilter(once, bodyReading));
      filter.setAsyncSupported(true);
      context.addFilter(filter, "/*", dispatcherTypes());
      handlers.forEach((path, handler) -> {
        ServletHolder holder = new ServletHolder(servlet(handler));
        holder.setAsyncSupported(true);
        context.addServlet(holder, path);
      });
      server.setHandler(context);
      server.start();
      return new TestServer(server::stop, connector.getLocalPort());
    }
  }
}
