package dev.once.proxy;

import dev.once.Problem;
import dev.once.micrometer.StoreState;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Answers the proxy's own endpoints itself, never forwarding them:
 *
 * <ul>
 *   <li>{@code GET /_once/health}: 200 with {@code
 *       {"status":"up","store":{"type":"memory","state":"up"}}} when the store answers a ping, 503
 *       with {@code "down"} when it does not. The store is named by its type only, so the endpoint
 *       shows no host or credential to whoever can reach the proxy; the failure goes to the log.
 *       It reads the same {@link StoreState} as the gauge {@code once.store.up}.
 *   <li>{@code GET /_once/metrics}: the meters (README, <i>Meters</i>) as Prometheus text.
 * </ul>
 *
 * Every other request goes on to the proxy. Thread-safe.
 */
final class HealthHandler extends Handler.Wrapper {
  /** Where every path of the proxy's own begins. */
  static final String PREFIX = "/_once/";
  static final String PATH = "/_once/health";
  static final String METRICS_PATH = "/_once/metrics";
  /** Prometheus's text exposition format. */
  static final String METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final StoreState store;
  private final String storeType;
  private final StoreErrorLog log;
  private final PrometheusMeterRegistry registry;

  HealthHandler(StoreState store, String storeType, StoreErrorLog log,
      PrometheusMeterRegistry registry, Handler next) {
    super(next);
    this.store = store;
    this.storeType = storeType;
    this.log = log;
    this.registry = registry;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    String path = request.getHttpURI().getPath();
    if (!PATH.equals(path) && !METRICS_PATH.equals(path)) {
      return super.handle(request, response, callback);
    }
    if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      ProblemErrorHandler.write(response, callback, Problem.of(405, "about:blank",
          "Method Not Allowed", path + " answers GET and HEAD"));
      return true;
    }
    if (METRICS_PATH.equals(path)) {
      write(request, response, callback, 200, METRICS_TYPE, registry.scrape());
      return true;
    }
    RuntimeException failure = store.check();
    if (failure != null) {
      log.report("ping", failure);
    }
    String state = failure == null ? "up" : "down";
    write(request, response, callback, failure == null ? 200 : 503, "application/json",
        "{\"status\":\"" + state + "\",\"store\":{\"type\":\"" + storeType
            + "\",\"state\":\"" + state + "\"}}\n");
    return true;
  }

  private static void write(Request request, Response response, Callback callback, int status,
      String type, String text) {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    boolean head = HttpMethod.HEAD.is(request.getMethod());
    response.write(true, head ? null : ByteBuffer.wrap(body), callback);
  }
}
