package dev.once.proxy;

import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.http.HttpHeader;

/**
 * Forwards each request to the upstream with Jetty's non-blocking proxy servlet, behind {@link
 * OnceFilter}: every method, path, query, header and body, streamed both ways. On top of Jetty's
 * behaviour it sends {@code X-Forwarded-For} (appended to the client's own), {@code
 * X-Forwarded-Proto} and {@code X-Forwarded-Host}, and answers an upstream failure as a problem:
 * 502 when the upstream cannot be reached or breaks off before answering, 504 when it stays silent
 * past the upstream timeout. Those statuses are not cacheable, so the filter releases the key and a
 * retry runs again. When the failure comes after the response was committed, the client's response
 * is cut off and the filter is told ({@link OnceFilter#responseFailed}) so the half response is
 * never stored. Thread-safe, as every servlet.
 */
final class UpstreamServlet extends AsyncProxyServlet.Transparent {
  private static final long serialVersionUID = 1L;

  /** The problem type of a 502: the upstream refused, reset or broke off before answering. */
  static final String UPSTREAM_UNAVAILABLE = ProblemType.URI_PREFIX + "upstream-unavailable";
  /** The problem type of a 504: the upstream sent nothing for the upstream timeout. */
  static final String UPSTREAM_TIMEOUT = ProblemType.URI_PREFIX + "upstream-timeout";

  private final Duration timeout;

  UpstreamServlet(Duration timeout) {
    this.timeout = timeout;
  }

  @Override
  protected void addProxyHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
    addViaHeader(clientRequest, proxyRequest);
    String client = clientRequest.getRemoteAddr();
    String scheme = clientRequest.getScheme();
    String host = clientRequest.getHeader(HttpHeader.HOST.asString());
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
      // the client has part of the upstream's response: never store half of it, and cut it off
      OnceFilter.responseFailed(clientRequest);
      super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
      return;
    }
    try {
      writeProblem(proxyResponse, problemFor(failure));
    } catch (IOException | RuntimeException e) {
      super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
      return;
    }
    clientRequest.getAsyncContext().complete();
  }

  private Problem problemFor(Throwable failure) {
    if (causedBy(failure, TimeoutException.class)) {
      return Problem.of(504, UPSTREAM_TIMEOUT, "Upstream timed out",
          "the upstream sent nothing for " + Values.format(timeout)
              + "; the request was not kept, a retry runs again");
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
      what = "could not be reached (" + failure.getClass().getSimpleName() + ")";
    }
    return Problem.of(502, UPSTREAM_UNAVAILABLE, "Upstream is unavailable",
        "the upstream " + what + "; the request was not kept, a retry runs again");
  }

  private static boolean causedBy(Throwable failure, Class<? extends Throwable> type) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static void writeProblem(HttpServletResponse response, Problem problem)
      throws IOException {
    byte[] json = problem.toJsonBytes();
    response.reset(); // drops what the upstream's headers had set
    response.setStatus(problem.status());
    response.setContentType(Problem.CONTENT_TYPE);
    response.setHeader("Cache-Control", "no-store");
    response.setContentLength(json.length);
    ServletOutputStream out = response.getOutputStream();
    out.write(json);
  }
}
