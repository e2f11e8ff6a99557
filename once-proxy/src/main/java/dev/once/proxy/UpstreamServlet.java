package dev.once.proxy;

import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.config.ConfigText;
import dev.once.servlet.ProblemResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpConversation;
import org.eclipse.jetty.client.transport.HttpRequest;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.http.HttpHeader;
import org.jspecify.annotations.Nullable;

/**
 * Forwards each request to the upstream with Jetty's non-blocking proxy servlet: every method,
 * path, query, header and body, streamed both ways. On top of Jetty's {@code AsyncProxyServlet}
 * it sends {@code X-Forwarded-For} (appended to the client's own), {@code X-Forwarded-Proto} and
 * {@code X-Forwarded-Host}, forwards the method as the client spelled it, and answers an upstream
 * failure as a problem: 502 when the upstream cannot be reached or breaks off before answering,
 * 504 when it stays silent past the upstream timeout. Alone, it is the plain proxy, the
 * benchmark's baseline; once-proxy puts {@link KeyedUpstreamServlet}, which adds keyed requests,
 * behind {@link dev.once.servlet.OnceFilter}. Thread-safe, as every servlet.
 */
class UpstreamServlet extends AsyncProxyServlet.Transparent {
  private static final long serialVersionUID = 1L;

  /** The problem type of a 502: the upstream refused, reset or broke off before answering. */
  static final String UPSTREAM_UNAVAILABLE = ProblemType.URI_PREFIX + "upstream-unavailable";
  /** The problem type of a 504: the upstream sent nothing for the upstream timeout. */
  static final String UPSTREAM_TIMEOUT = ProblemType.URI_PREFIX + "upstream-timeout";

  /** The answer to a request whose target {@link URI} refuses: it was not forwarded. */
  static final Problem BAD_TARGET = Problem.of(400, "about:blank", "Bad Request",
      "the request's target is not a valid URI (a malformed %-escape?); it was not forwarded");

  /** The longest the upstream may stay silent while a client waits. */
  final Duration timeout;

  /** @param timeout the longest the upstream may stay silent while a client waits */
  UpstreamServlet(Duration timeout) {
    this.timeout = timeout;
  }

  /**
   * The upstream request, with the method as the client spelled it: Jetty's client upper-cases
   * every method, so {@code post} would reach the upstream as {@code POST}, a request the client
   * did not send (methods are case-sensitive; an upstream may refuse {@code post} or treat it as
   * {@code POST}, which is its own business; the proxy covers it with idempotency either way). Both
   * of Jetty's sides then agree on it: {@code head} is not {@code HEAD} to the server that took it
   * nor to the client that forwards it, so a response is framed the same way on both.
   */
  @Override
  protected Request newProxyRequest(HttpServletRequest request, String rewrittenTarget) {
    return newRequest(getHttpClient(), URI.create(rewrittenTarget), request.getMethod())
        .attribute(CLIENT_REQUEST_ATTRIBUTE, request);
  }

  /**
   * A request to {@code target} with {@code method} exactly as the client spelled it (see {@link
   * #newProxyRequest}); shared with {@link UpstreamHandler}.
   */
  static Request newRequest(HttpClient client, URI target, String method) {
    if (method.equals(method.toUpperCase(Locale.ROOT))) {
      return client.newRequest(target).method(method);
    }
    HttpRequest asSent = new HttpRequest(client, new HttpConversation(), target) {
      @Override
      public String getMethod() {
        return method;
      }
    };
    return asSent.method(method);
  }

  /**
   * The upstream's URI for the request, or null (answered 400 by {@link #onProxyRewriteFailed})
   * when {@link URI} refuses it: Jetty's server takes a query with a malformed escape ({@code
   * ?a=%zz}) that {@code URI.create} throws on, which would otherwise fail the request with a 500.
   */
  @Override
  protected @Nullable String rewriteTarget(HttpServletRequest clientRequest) {
    try {
      return super.rewriteTarget(clientRequest);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  @Override
  protected void onProxyRewriteFailed(HttpServletRequest clientRequest,
      HttpServletResponse proxyResponse) {
    try {
      writeProblem(proxyResponse, BAD_TARGET);
    } catch (IOException | RuntimeException e) {
      // the client is gone: there is nobody to answer
    }
  }

  @Override
  protected void sendProxyRequest(HttpServletRequest clientRequest,
      HttpServletResponse proxyResponse, Request proxyRequest) {
    // silence from the upstream is bounded; a long stream that keeps flowing is not cut
    proxyRequest.idleTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    super.sendProxyRequest(clientRequest, proxyResponse, proxyRequest);
  }

  @Override
  protected void addProxyHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
    addViaHeader(clientRequest, proxyRequest);
    addForwardedHeaders(proxyRequest, clientRequest.getRemoteAddr(), clientRequest.getScheme(),
        clientRequest.getHeader(HttpHeader.HOST.asString()));
  }

  /**
   * Sets the {@code X-Forwarded} headers of a request to the upstream whose headers were copied
   * from the client's: {@code client} appended to the client's own {@code X-Forwarded-For} chain,
   * the others replaced; shared with {@link UpstreamHandler}.
   *
   * @param client the client's address
   * @param scheme the scheme the client used
   * @param host the client's {@code Host} header, or null
   */
  static void addForwardedHeaders(Request proxyRequest, String client, String scheme,
      @Nullable String host) {
    proxyRequest.headers(headers -> {
      // the headers were copied from the client's request: extend its chain, replace the rest
      List<String> chain = headers.getValuesList(HttpHeader.X_FORWARDED_FOR);
      headers.put(HttpHeader.X_FORWARDED_FOR,
          chain.isEmpty() ? client : String.join(", ", chain) + ", " + client);
      headers.put(HttpHeader.X_FORWARDED_PROTO, scheme);
      if (host == null) {
        headers.remove(HttpHeader.X_FORWARDED_HOST);
      } else {
        headers.put(HttpHeader.X_FORWARDED_HOST, host);
      }
    });
  }

  @Override
  protected void onProxyResponseFailure(HttpServletRequest clientRequest,
      HttpServletResponse proxyResponse, Response serverResponse, Throwable failure) {
    if (proxyResponse.isCommitted()) {
      super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
      return;
    }
    try {
      writeProblem(proxyResponse, problemFor(failure, timeout));
    } catch (IOException | RuntimeException e) {
      super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
      return;
    }
    clientRequest.getAsyncContext().complete();
  }

  /**
   * @param failure why the exchange with the upstream failed before the response was committed
   * @param timeout the longest the upstream may stay silent while a client waits
   * @return the answer: 504 for the upstream's silence, else 502; shared with {@link
   *     UpstreamHandler}
   */
  static Problem problemFor(Throwable failure, Duration timeout) {
    if (causedBy(failure, TimeoutException.class)) {
      return Problem.of(504, UPSTREAM_TIMEOUT, "Upstream timed out",
          "the upstream sent nothing for " + ConfigText.format(timeout));
    }
    String what;
    if (causedBy(failure, ConnectException.class)) {
      what = "refused the connection";
    } else if (causedBy(failure, UnresolvedAddressException.class)
        || causedBy(failure, UnknownHostException.class)) {
      what = "has a host name that does not resolve";
    } else if (causedBy(failure, EOFException.class)) {
      what = "closed the connection before it answered";
    } else {
      what = "could not be reached";
    }
    return Problem.of(502, UPSTREAM_UNAVAILABLE, "Upstream is unavailable",
        "the upstream " + what);
  }

  static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Answers with {@code problem} in place of anything the upstream's response had set, unless the
   * response is committed.
   */
  static void writeProblem(HttpServletResponse response, Problem problem) throws IOException {
    if (!response.isCommitted()) {
      response.reset(); // drops what the upstream's headers had set
      ProblemResponse.write(response, problem);
    }
  }
}
