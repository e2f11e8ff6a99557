package dev.once.proxy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The upstream the proxy serves when it is given none, so a newcomer can see idempotency work: a
 * payments endpoint whose every run is counted. {@code POST /payments} answers 201 with {@code
 * {"id":"pay_N","status":"created","executions":N}}: a replayed retry shows the same N, a run shows
 * the next. {@code GET /payments} answers the count. It is also the upstream of the benchmark
 * ({@code java -cp once-proxy.jar dev.once.proxy.DemoUpstream [HOST:PORT]}); not part of the
 * proxy's API. Thread-safe.
 */
final class DemoUpstream extends Handler.Abstract.NonBlocking {
  private final AtomicLong executions = new AtomicLong();

  private DemoUpstream() {}

  /**
   * Starts a demo upstream on its own small server.
   *
   * @param host the address to listen on
   * @param port the port, or 0 for a free one
   * @return the started server; the caller stops it
   * @throws Exception if it cannot start
   */
  static Server start(String host, int port) throws Exception {
    QueuedThreadPool threads = new QueuedThreadPool(64, 4);
    threads.setName("demo-upstream");
    Server server = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    ServerConnector connector =
        new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(host);
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(new DemoUpstream());
    server.start();
    return server;
  }

  /**
   * Runs a demo upstream alone, for the benchmark: {@code DemoUpstream [HOST:PORT]} (default
   * {@code 127.0.0.1:0}); prints {@code demo upstream listening on http://HOST:PORT}.
   *
   * @param args the address
   * @throws Exception if it cannot start
   */
  public static void main(String[] args) throws Exception {
    String listen = args.length > 0 ? args[0] : "127.0.0.1:0";
    int colon = listen.lastIndexOf(':');
    Server server =
        start(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1)));
    int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    System.out.println(
        "demo upstream listening on http://" + listen.substring(0, colon) + ":" + port);
    server.join();
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    if (!path.equals("/payments")) {
      respond(response, callback, 404, "{\"error\":\"not found; try POST /payments\"}");
      return true;
    }
    if (HttpMethod.POST.is(request.getMethod())) {
      // read the whole body as a real service would, so the connection stays reusable
      Content.Source.consumeAll(request, Callback.from(() -> {
        long n = executions.incrementAndGet();
        response.getHeaders().put(HttpHeader.LOCATION, "/payments/pay_" + n);
        respond(response, callback, 201,
            "{\"id\":\"pay_" + n + "\",\"status\":\"created\",\"executions\":" + n + "}");
      }, callback::failed));
      return true;
    }
    if (HttpMethod.GET.is(request.getMethod())) {
      respond(response, callback, 200, "{\"executions\":" + executions.get() + "}");
      return true;
    }
    response.getHeaders().put(HttpHeader.ALLOW, "GET, POST");
    respond(response, callback, 405, "{\"error\":\"method not allowed\"}");
    return true;
  }

  private static void respond(Response response, Callback callback, int status, String json) {
    byte[] body = (json + "\n").getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }
}
