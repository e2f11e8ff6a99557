package dev.once.servlet;

import dev.once.Once;
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
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** A real Jetty 12 server with {@link OnceFilter} in front of the test's servlets. */
final class TestServer implements AutoCloseable {
  private final Server server;
  private final int port;

  private TestServer(Server server, int port) {
    this.server = server;
    this.port = port;
  }

  static Builder with(Once once) {
    return new Builder(once);
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  int port() {
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
    server.stop();
  }

  /** What a test servlet does. */
  @FunctionalInterface
  interface Handler {
    void handle(HttpServletRequest request, HttpServletResponse response) throws Exception;
  }

  static final class Builder {
    private final Once once;
    private final Map<String, Handler> handlers = new LinkedHashMap<>();

    private Builder(Once once) {
      this.once = once;
    }

    Builder handle(String path, Handler handler) {
      handlers.put(path, handler);
      return this;
    }

    TestServer start() throws Exception {
      Server server = new Server();
      ServerConnector connector = new ServerConnector(server);
      connector.setHost("127.0.0.1");
      connector.setPort(0);
      server.addConnector(connector);
      ServletContextHandler context = new ServletContextHandler();
      context.setContextPath("/");
      FilterHolder filter = new FilterHolder(new OnceFilter(once));
      filter.setAsyncSupported(true);
      context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST));
      handlers.forEach((path, handler) -> {
        ServletHolder holder = new ServletHolder(new HttpServlet() {
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
        });
        holder.setAsyncSupported(true);
        context.addServlet(holder, path);
      });
      server.setHandler(context);
      server.start();
      return new TestServer(server, connector.getLocalPort());
    }
  }
}
