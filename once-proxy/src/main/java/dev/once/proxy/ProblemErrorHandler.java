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
 * Jetty's own error responses (a request it cannot parse, a header too large, a servlet failure)
 * as {@code application/problem+json}, like every other error of the proxy, never an HTML page or a
 * stack trace. Their type is {@code about:blank}: RFC 9457's type for a problem that is no more
 * than its status. The server's handler is this one; the servlet context's is {@link Servlet}.
 * Thread-safe.
 */
final class ProblemErrorHandler extends ErrorHandler {
  @Override
  protected boolean generateAcceptableResponse(Request request, Response response,
      Callback callback, String contentType, List<Charset> charsets, int code, String message,
      Throwable cause) {
    return writeProblem(response, callback, code, message);
  }

  static boolean writeProblem(Response response, Callback callback, int code, String message) {
    int status = code >= 400 && code <= 599 ? code : 500;
    String title = HttpStatus.getMessage(status);
    byte[] json = Problem.of(status, "about:blank", title,
        message == null || message.isBlank() ? title : message).toJsonBytes();
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, Problem.CONTENT_TYPE);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
    response.write(true, ByteBuffer.wrap(json), callback);
    return true;
  }

  /** The same, for errors inside the servlet context. */
  static final class Servlet extends org.eclipse.jetty.ee10.servlet.ErrorHandler {
    @Override
    protected boolean generateAcceptableResponse(Request request, Response response,
        Callback callback, String contentType, List<Charset> charsets, int code, String message,
        Throwable cause) {
      return writeProblem(response, callback, code, message);
    }
  }
}
