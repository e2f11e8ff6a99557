package dev.once.proxy;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.proxy.ProxyHandler;
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
 * A gate experiment for issue 17, not a proxy to use: the plain proxy rebuilt on Jetty 12's core
 * {@link ProxyHandler.Reverse} (no servlet layer), to measure beside {@link PlainProxy} whether a
 * proxy core without the servlet machinery comes near nginx. It has the server settings of {@link
 * ProxyServer} (no Server or Date header added, an accept queue of 1024, 256 threads at most, 1024
 * connections to the upstream, the client on the server's threads as the proxy servlet's is) and
 * the forwarding of {@link UpstreamServlet}: method, path, query, headers and body both ways, the
 * upstream's own Host, {@code X-Forwarded-For} (appended to the client's), {@code
 * X-Forwarded-Proto}, {@code X-Forwarded-Host} and {@code Via: 1.1 once-proxy}. It has none of
 * the proxy servlet's problem answers: an upstream failure is Jetty's plain 502 or 504. Not in the
 * proxy's jar; {@code once-proxy/bench/run-wrk.sh} runs it from the test classes with jetty-proxy
 * on the class path: {@code java -cp
 * once-proxy/target/once-proxy.jar:once-proxy/target/test-classes:JETTY_PROXY_JAR
 * dev.once.proxy.CoreProxy --upstream URL --listen HOST:PORT} (other flags are ignored).
 */
final class CoreProxy {
  /** What {@link #startAnswering} answers: the body of the benchmark's upstream. */
  private static final byte[] ANSWER = "{\"id\":1}".getBytes(StandardCharsets.US_ASCII);
  private static final int ACCEPT_QUEUE = 1024;
  private static final int MAX_CONNECTIONS = 1024;
  private static final long POOL_IDLE_MILLIS = 30_000;

  private CoreProxy() {}

  /**
   * Runs the proxy until the JVM is stopped.
   *
   * @param args {@code --upstream URL --listen HOST:PORT}; other flags and their values are ignored
   * @throws Exception if it cannot start
   */
  public static void main(String[] args) throws Exception {
    URI upstream = null;
    String listen = "127.0.0.1:8080";
    boolean answer = false;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--answer")) {
        answer = true;
      } else if (i + 1 < args.length && args[i].equals("--upstream")) {
        upstream = URI.create(args[++i]);
      } else if (i + 1 < args.length && args[i].equals("--listen")) {
        listen = args[++i];
      }
    }
    if (answer) {
      int colon = listen.lastIndexOf(':');
      Server server = startAnswering(listen.substring(0, colon),
          Integer.parseInt(listen.substring(colon + 1)));
      System.out.println("core server listening on " + uri(server));
      server.join();
      return;
    }
    if (upstream == null) {
      System.err.println("usage: CoreProxy --upstream URL --listen HOST:PORT");
      System.exit(2);
      return;
    }
    int colon = listen.lastIndexOf(':');
    Server server = start(upstream, listen.substring(0, colon),
        Integer.parseInt(listen.substring(colon + 1)));
    System.out.println("core proxy listening on " + uri(server));
    server.join();
  }

  /**
   * Starts a proxy to {@code upstream} on {@code host:port}.
   *
   * @return the started server; {@link #uri(Server)} gives its address
   * @throws Exception if it cannot start; nothing is left running
   */
  static Server start(URI upstream, String host, int port) throws Exception {
    Forwarding proxy = new Forwarding(upstream);
    proxy.setUseServerThreadPool(true);
    proxy.setViaHost("once-proxy");
    proxy.setProxyToServerHost(upstream.getRawAuthority());
    return start(proxy, host, port);
  }

  /**
   * Starts a server with the proxy's settings that answers every request itself, after reading
   * its body: {@code 201} with {@link #ANSWER}, as the benchmark's upstream does. The most any
   * Jetty server answers on the machine, and so the ceiling of a replay, which once-proxy writes
   * from memory without the upstream ({@code --answer} from the command line).
   *
   * @return the started server
   * @throws Exception if it cannot start; nothing is left running
   */
  static Server startAnswering(String host, int port) throws Exception {
    return start(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        Content.Source.consumeAll(request, Callback.from(() -> {
          response.setStatus(201);
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          response.getHeaders().put(HttpHeader.CONTENT_LENGTH, ANSWER.length);
          response.write(true, ByteBuffer.wrap(ANSWER), callback);
        }, callback::failed));
        return true;
      }
    }, host, port);
  }

  private static Server start(Handler handler, String host, int port) throws Exception {
    QueuedThreadPool threads = new QueuedThreadPool(256, 8);
    threads.setName("core-proxy");
    Server server = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(host);
    connector.setPort(port);
    connector.setAcceptQueueSize(ACCEPT_QUEUE);
    server.addConnector(connector);
    server.setHandler(handler);
    try {
      server.start();
    } catch (Exception | Error e) {
      try {
        server.stop();
      } catch (Exception ignored) {
        // already failing: nothing more to do with it
      }
      throw e;
    }
    return server;
  }

  /** @return {@code http://HOST:PORT} of a started proxy, with the real port */
  static String uri(Server server) {
    ServerConnector connector = (ServerConnector) server.getConnectors()[0];
    return "http://" + connector.getHost() + ":" + connector.getLocalPort();
  }

  /** Jetty's reverse proxy handler with the upstream's address and the X-Forwarded headers. */
  private static final class Forwarding extends ProxyHandler.Reverse {
    Forwarding(URI upstream) {
      super(request -> {
        HttpURI uri = request.getHttpURI();
        return HttpURI.build(upstream).path(uri.getPath()).query(uri.getQuery());
      });
    }

    @Override
    protected void configureHttpClient(HttpClient httpClient) {
      super.configureHttpClient(httpClient);
      httpClient.setMaxConnectionsPerDestination(MAX_CONNECTIONS);
      httpClient.setIdleTimeout(POOL_IDLE_MILLIS);
    }

    /** As {@link UpstreamServlet#addProxyHeaders}: Via and the X-Forwarded headers. */
    @Override
    protected void addProxyHeaders(Request clientRequest,
        org.eclipse.jetty.client.Request proxyRequest) {
      addViaHeader(clientRequest, proxyRequest);
      String client = Request.getRemoteAddr(clientRequest);
      String scheme = clientRequest.getHttpURI().getScheme();
      String host = clientRequest.getHeaders().get(HttpHeader.HOST);
      proxyRequest.headers(headers -> {
        List<String> chain = headers.getValuesList(HttpHeader.X_FORWARDED_FOR);
        headers.put(HttpHeader.X_FORWARDED_FOR,
            chain.isEmpty() ? client : String.join(", ", chain) + ", " + client);
        headers.put(HttpHeader.X_FORWARDED_PROTO, scheme == null ? "http" : scheme);
        if (host == null) {
          headers.remove(HttpHeader.X_FORWARDED_HOST);
        } else {
          headers.put(HttpHeader.X_FORWARDED_HOST, host);
        }
      });
    }
  }
}
