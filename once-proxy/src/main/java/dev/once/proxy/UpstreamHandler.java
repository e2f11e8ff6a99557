package dev.once.proxy;

import dev.once.Decision;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.EarlyHintsProtocolHandler;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.ProcessingProtocolHandler;
import org.eclipse.jetty.client.ProtocolHandlers;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * The fast lane: forwards a request the engine passes through untouched (a method it does not
 * cover, or no key where none is required) with Jetty's core {@link ProxyHandler}, without the
 * servlet layer, which costs a pass-through request a third of the proxy's throughput. It forwards
 * as {@link UpstreamServlet} does, sharing its code where the logic is the same: the same target
 * (the raw path and query after the upstream's own, normalized, and 400 when {@link URI} refuses
 * it), the method as the client spelled it, the upstream's own {@code Host}, {@code Via:
 * 1.1 once-proxy}, the {@code X-Forwarded} headers, a bound on the upstream's silence per request
 * (504), 502 when the upstream cannot be reached or breaks off before answering, no blank header
 * passed back, and an HTTP client set up as the servlet's is (the server's threads, 1024
 * connections, no interim responses but {@code 100 Continue}). {@link Lanes} chooses the lane
 * for each request. Thread-safe.
 */
final class UpstreamHandler extends ProxyHandler.Reverse {
  /** The request attribute, a {@link URI}, of the upstream's target for the request. */
  private static final String TARGET = UpstreamHandler.class.getName() + ".target";
  /** The most connections the proxy opens to the upstream, as the servlet's pool. */
  private static final int MAX_CONNECTIONS = 1024;

  /** The upstream's URI, without a trailing slash. */
  private final String proxyTo;
  private final Duration timeout;
  private final Duration poolIdle;

  /**
   * @param upstream where requests are forwarded
   * @param timeout the longest the upstream may stay silent while a client waits
   * @param poolIdle how long a connection to the upstream may sit idle in the pool
   */
  UpstreamHandler(URI upstream, Duration timeout, Duration poolIdle) {
    super(request -> HttpURI.from((URI) request.getAttribute(TARGET)));
    String to = upstream.toString();
    this.proxyTo = to.endsWith("/") ? to.substring(0, to.length() - 1) : to;
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    this.poolIdle = Objects.requireNonNull(poolIdle, "poolIdle");
    setUseServerThreadPool(true);
    setViaHost("once-proxy");
  }

  @Override
  protected void configureHttpClient(HttpClient httpClient) {
    super.configureHttpClient(httpClient);
    httpClient.setMaxConnectionsPerDestination(MAX_CONNECTIONS);
    httpClient.setIdleTimeout(poolIdle.toMillis());
  }

  @Override
  protected void doStart() throws Exception {
    super.doStart();
    // the proxy servlet's client relays no 102 or 103 from the upstream: neither does this one
    ProtocolHandlers handlers = getHttpClient().getProtocolHandlers();
    handlers.remove(ProcessingProtocolHandler.NAME);
    handlers.remove(EarlyHintsProtocolHandler.NAME);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    URI target = target(request);
    if (target == null) {
      ProblemErrorHandler.write(response, callback, UpstreamServlet.BAD_TARGET);
      return true;
    }
    request.setAttribute(TARGET, target);
    return super.handle(request, response, callback);
  }

  /**
   * @return the upstream's URI for the request, as the proxy servlet's transparent rewrite makes
   *     it, or null when {@link URI} refuses it (a query with a malformed escape, {@code ?a=%zz})
   */
  @Nullable URI target(Request request) {
    StringBuilder uri = new StringBuilder(proxyTo);
    String path = request.getHttpURI().getPath();
    if (!path.isEmpty()) {
      if (!path.startsWith("/")) {
        uri.append('/');
      }
      uri.append(path);
    }
    String query = request.getHttpURI().getQuery();
    if (query != null) {
      String separator = "://";
      if (uri.indexOf("/", uri.indexOf(separator) + separator.length()) < 0) {
        uri.append('/');
      }
      uri.append('?').append(query);
    }
    try {
      return URI.create(uri.toString()).normalize();
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  @Override
  protected org.eclipse.jetty.client.Request newProxyToServerRequest(Request clientRequest,
      HttpURI newHttpUri) {
    return UpstreamServlet.newRequest(getHttpClient(), (URI) clientRequest.getAttribute(TARGET),
            clientRequest.getMethod())
        // silence from the upstream is bounded; a long stream that keeps flowing is not cut
        .idleTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The request to the upstream for a keyed request {@link KeyedLane} runs on the core, built as
   * {@link KeyedUpstreamServlet} builds one: to {@code target}, with the method as the client
   * spelled it, the client's headers but the hop-by-hop ones and {@code Host}, {@code Via} and the
   * {@code X-Forwarded} headers, and the body (already read, to fingerprint it) whole, when it
   * is not empty. No idle timeout: {@link KeyedCall} times the upstream's silence.
   */
  org.eclipse.jetty.client.Request newKeyedRequest(Request clientRequest, URI target,
      byte[] body) {
    org.eclipse.jetty.client.Request proxyRequest =
        UpstreamServlet.newRequest(getHttpClient(), target, clientRequest.getMethod());
    copyRequestHeaders(clientRequest, proxyRequest);
    addProxyHeaders(clientRequest, proxyRequest);
    if (body.length > 0) {
      proxyRequest.body(new BytesRequestContent(body));
    }
    return proxyRequest;
  }

  @Override
  protected void copyRequestHeaders(Request clientRequest,
      org.eclipse.jetty.client.Request proxyRequest) {
    // as the proxy servlet: only the client's headers, not the ones Jetty's client starts a
    // request with (its own User-Agent)
    proxyRequest.headers(HttpFields.Mutable::clear);
    super.copyRequestHeaders(clientRequest, proxyRequest);
    // the client's Host goes in X-Forwarded-Host; the upstream gets its own, from the target
    proxyRequest.headers(headers -> headers.remove(HttpHeader.HOST));
  }

  @Override
  protected void addProxyHeaders(Request clientRequest,
      org.eclipse.jetty.client.Request proxyRequest) {
    addViaHeader(clientRequest, proxyRequest);
    UpstreamServlet.addForwardedHeaders(proxyRequest, Request.getRemoteAddr(clientRequest),
        clientRequest.getHttpURI().getScheme(), clientRequest.getHeaders().get(HttpHeader.HOST));
  }

  /** As the proxy servlet: a response header with a blank value is not passed on. */
  @Override
  protected @Nullable HttpField filterServerToProxyResponseField(HttpField field) {
    String value = field.getValue();
    return value == null || value.trim().isEmpty() ? null : field;
  }

  @Override
  protected void onServerToProxyResponseFailure(Request clientRequest,
      org.eclipse.jetty.client.Request proxyRequest,
      org.eclipse.jetty.client.@Nullable Response serverResponse, Response proxyResponse,
      Callback callback, Throwable failure) {
    if (proxyResponse.isCommitted()) {
      // the client has part of the answer: Jetty cuts it off, so it sees it was not whole
      super.onServerToProxyResponseFailure(clientRequest, proxyRequest, serverResponse,
          proxyResponse, callback, failure);
      return;
    }
    proxyResponse.reset(); // drops what the upstream's headers had set
    ProblemErrorHandler.write(proxyResponse, callback,
        UpstreamServlet.problemFor(failure, timeout));
  }

  /**
   * Chooses the lane of each request: one the engine passes through untouched goes to the {@link
   * UpstreamHandler}; one with a key (even an invalid or repeated one) of a covered method to the
   * {@link KeyedLane}, which decides and runs it on the core when its body is in and hands the
   * rest to the servlet context; every other (a key required and missing, a target that is not a
   * path) to the servlet context it wraps, where {@link OnceFilter} decides it. The engine still
   * decides every request the filter would have decided (a covered method without a key), so its
   * listener and meters see what they saw; a method it does not cover it never sees, as the filter
   * never shows it one. Thread-safe.
   */
  static final class Lanes extends Handler.Wrapper {
    private final Once once;
    private final UpstreamHandler fast;
    private final KeyedLane keyed;

    /**
     * @param once the engine the servlet context's filter uses
     * @param fast the lane for requests the engine passes through
     * @param servlets the servlet context, for every other request
     * @param calls how the keyed lane runs a request on the core
     */
    Lanes(Once once, UpstreamHandler fast, Handler servlets, KeyedLane.Calls calls) {
      super(servlets);
      this.once = Objects.requireNonNull(once, "once");
      this.fast = Objects.requireNonNull(fast, "fast");
      this.keyed = new KeyedLane(once, servlets, fast, calls);
      addBean(fast, true);
    }

    @Override
    public void setServer(Server server) {
      super.setServer(server);
      fast.setServer(server);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback)
        throws Exception {
      boolean covered = once.appliesTo(request.getMethod());
      String path = request.getHttpURI().getPath();
      // a target that is not a path (OPTIONS *, CONNECT's authority) is the servlet context's
      if (path == null || !path.startsWith("/")) {
        return Dispatch.toPool(getHandler(), request, response, callback, null);
      }
      if (covered && request.getHeaders().contains(once.header())) {
        return keyed.handle(request, response, callback);
      }
      if (covered && once.requireKey()) {
        return Dispatch.toPool(getHandler(), request, response, callback, null);
      }
      if (covered) {
        Decision decision;
        try {
          decision = once.decide(new ViewedRequest(request));
        } catch (IOException e) {
          // not expected: it reads no body
          return Dispatch.toPool(getHandler(), request, response, callback, null);
        }
        if (!(decision instanceof Decision.PassThrough)) {
          // not expected of a request without a key: the filter decides it as it always did
          return Dispatch.toPool(getHandler(), request, response, callback, null);
        }
        request.setAttribute(OnceFilter.OUTCOME_ATTRIBUTE, Decision.outcomeOf(decision));
      }
      return fast.handle(request, response, callback);
    }
  }
}
