package dev.once.proxy;

import dev.once.Problem;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error responses (a request it cannot parse, a header too large, a failure inside the
 * proxy) as {@code application/problem+json}, like every other error of the proxy, never an HTML
 * page. Their type is {@code about:blank}: RFC 9457's type for a problem that is no more than its
 * status. The detail is a fixed sentence per status, never the message Jetty hands over: that is
 * an exception's text ({@code java.lang.ArithmeticException: long overflow}) or the parser's
 * account of the bytes, which tell an attacker about the proxy's insides and a client nothing it
 * can act on. The server's handler is this one; the servlet context's is {@link Servlet}.
 * Thread-safe.
 */
final class ProblemErrorHandler extends ErrorHandler {
  @Override
  protected boolean generateAcceptableResponse(Request request, Response response,
      Callback callback, String contentType, List<Charset> charsets, int code, String message,
      Throwable cause) {
    return writeProblem(response, callback, code);
  }

  static boolean writeProblem(Response response, Callback callback, int code) {
    int status = code >= 400 && code <= 599 ? code : 500;
    write(response, callback,
        Problem.of(status, "about:blank", HttpStatus.getMessage(status), detail(status)));
    return true;
  }

  /**
   * Writes {@code problem} as the whole response, as {@link dev.once.servlet.ProblemResponse}
   * writes a servlet's.
   */
  static void write(Response response, Callback callback, Problem problem) {
    byte[] json = problem.toJsonBytes();
    response.setStatus(problem.status());
    problem.headers().forEach(response.getHeaders()::put);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
    response.write(true, ByteBuffer.wrap(json), callback);
  }

  /** @return what a client is told for {@code status}: what it can do, nothing of the cause */
  static String detail(int status) {
    switch (status) {
      case 400:
        return "the request is not valid HTTP (its request line, a header or its framing);"
            + " it was not forwarded";
      case 408:
        return "the request did not arrive in time; it was not forwarded";
      case 413:
        return "the request is too large; it was not forwarded";
      case 414:
        return "the request's URI is too long; it was not forwarded";
      case 431:
        return "the request's headers are too large; it was not forwarded";
      case 500:
        return "the proxy failed while handling the request";
      case 501:
        return "the request uses something the proxy does not implement; it was not forwarded";
      case 505:
        return "the request's HTTP version is not supported; it was not forwarded";
      default:
        return status < 500
            ? "the request was refused; it was not forwarded"
            : "the proxy could not handle the request";
    }
  }

  /** The same, for errors inside the servlet context. */
  static final class Servlet extends org.eclipse.jetty.ee10.servlet.ErrorHandler {
    @Override
    protected boolean generateAcceptableResponse(Request request, Response response,
        Callback callback, String contentType, List<Charset> charsets, int code, String message,
        Throwable cause) {
      return writeProblem(response, callback, code);
    }
  }
}
