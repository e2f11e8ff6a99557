package dev.once.proxy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server for the proxy to forward to: the JDK's own, so nothing of Jetty is on both
 * sides. Each path has a handler; every request is counted and recorded as it arrived.
 */
final class Upstream implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  private final LinkedBlockingQueue<Seen> seen = new LinkedBlockingQueue<>();

  /** What the upstream received. */
  static final class Seen {
    final String method;
    final URI uri;
    final Map<String, List<String>> headers;
    final byte[] body;

    Seen(String method, URI uri, Map<String, List<String>> headers, byte[] body) {
      this.method = method;
      this.uri = uri;
      this.headers = headers;
      this.body = body;
    }

    String header(String name) {
      List<String> values = headers.get(name);
      return values == null ? null : String.join(",", values);
    }

    String body() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** What a path does with a request; the body has been read unless the handler reads it. */
  @FunctionalInterface
  interface Handler {
    void handle(HttpExchange exchange, int run) throws Exception;
  }

  private Upstream(int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 200);
    server.setExecutor(executor);
  }

  static Upstream start() throws IOException {
    return startOn(0);
  }

  /** Starts on {@code port} of 127.0.0.1: an upstream that comes back where the proxy points. */
  static Upstream startOn(int port) throws IOException {
    Upstream upstream = new Upstream(port);
    upstream.server.start();
    return upstream;
  }

  /**
   * Serves {@code path} (and everything under it) with {@code handler}, recording each request
   * with its whole body first.
   */
  Upstream handle(String path, Handler handler) {
    return handle(path, true, handler);
  }

  /**
   * As {@link #handle(String, Handler)}, leaving the body to the handler when {@code read} is
   * false.
   */
  Upstream handle(String path, boolean read, Handler handler) {
    server.createContext(path, exchange -> {
      int run = hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
      try (exchange) {
        byte[] body = read ? readAll(exchange.getRequestBody()) : new byte[0];
        seen.add(new Seen(exchange.getRequestMethod(), exchange.getRequestURI(),
            Map.copyOf(exchange.getRequestHeaders()), body));
        handler.handle(exchange, run);
      } catch (Exception e) {
        // the test that set this handler up sees the failure as the proxy's answer
      }
    });
    return this;
  }

  private static byte[] readAll(InputStream in) throws IOException {
    return in.readAllBytes();
  }

  /** Answers with {@code status} and a JSON body naming the run. */
  static Handler json(int status) {
    return (exchange, run) -> respond(exchange, status, "{\"run\":" + run + "}");
  }

  /**
   * Holds each request until {@code release} opens (for a minute at most), then answers as {@link
   * #json} does.
   */
  static Handler jsonAfter(CountDownLatch release, int status) {
    return (exchange, run) -> {
      release.await(60, TimeUnit.SECONDS);
      respond(exchange, status, "{\"run\":" + run + "}");
    };
  }

  static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** @return how many requests reached {@code path} */
  int hits(String path) {
    AtomicInteger count = hits.get(path);
    return count == null ? 0 : count.get();
  }

  /** @return the next request the upstream received, waiting up to 10 s */
  Seen next() throws InterruptedException {
    Seen next = seen.poll(10, TimeUnit.SECONDS);
    if (next == null) {
      throw new AssertionError("the upstream received no request within 10 s");
    }
    return next;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
