package dev.once.proxy;

import dev.once.Problem;
import dev.once.spi.IdempotencyStore;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Answers {@code GET /_once/health} itself, never forwarding it: 200 with {@code
 * {"status":"up","store":{"type":"memory","state":"up"}}} when the store answers a ping, 503 with
 * {@code "down"} when it does not. The store is named by its type only, so the endpoint shows no
 * host or credential to whoever can reach the proxy; the failure goes to the log. Every other
 * request goes on to the proxy. Thread-safe.
 */
final class HealthHandler extends Handler.Wrapper {
  static final String PATH = "/_once/health";

  private final IdempotencyStore store;
  private final String storeType;
  private final StoreErrorLog log;

  HealthHandler(IdempotencyStore store, String storeType, StoreErrorLog log, Handler next) {
    super(next);
    this.store = store;
    this.storeType = storeType;
    this.log = log;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    if (!PATH.equals(request.getHttpURI().getPath())) {
      return super.handle(request, response, callback);
    }
    if (!HttpMethod.GET.is(request.getMethod()) && !HttpMethod.HEAD.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      byte[] json = Problem.of(405, "about:blank", "Method Not Allowed",
          PATH + " answers GET and HEAD").toJsonBytes();
      response.setStatus(405);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problem.CONTENT_TYPE);
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
      response.write(true, ByteBuffer.wrap(json), callback);
      return true;
    }
    boolean up;
    try {
      store.ping();
      up = true;
    } catch (RuntimeException e) {
      log.report("ping", e);
      up = false;
    }
    String state = up ? "up" : "down";
    write(request, response, callback, up ? 200 : 503, "{\"status\":\"" + state
        + "\",\"store\":{\"type\":\"" + storeType + "\",\"state\":\"" + state + "\"}}");
    return true;
  }

  private static void write(Request request, Response response, Callback callback, int status,
      String json) {
    byte[] body = (json + "\n").getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    boolean head = HttpMethod.HEAD.is(request.getMethod());
    response.write(true, head ? null : ByteBuffer.wrap(body), callback);
  }
}
