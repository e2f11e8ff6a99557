package dev.once.servlet;

import dev.once.Problem;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Map;

/**
 * Writes a {@link Problem} to a servlet response: its status, its {@linkplain Problem#headers()
 * headers} ({@code application/problem+json}, {@code Cache-Control: no-store}, {@code Retry-After}
 * when it has one), its length and its JSON body. The one way {@link OnceFilter} and the proxy
 * answer with a problem; code that calls {@link dev.once.Once} from a servlet of its own can use it
 * too. Stateless.
 */
public final class ProblemResponse {
  private ProblemResponse() {}

  /**
   * Writes {@code problem} as the whole response, unless the response is already committed (then
   * the client has part of another answer, and nothing is written). Headers set before, by other
   * filters, stay.
   *
   * @param response the response
   * @param problem the problem
   * @return true if the problem was written, false if the response was already committed
   * @throws IOException if writing the body fails
   */
  public static boolean write(HttpServletResponse response, Problem problem) throws IOException {
    if (response.isCommitted()) {
      return false;
    }
    byte[] json = problem.toJsonBytes();
    response.setStatus(problem.status());
    for (Map.Entry<String, String> header : problem.headers().entrySet()) {
      if (header.getKey().equals("Content-Type")) {
        // through the container's own property, which getContentType() and its charset logic read
        response.setContentType(header.getValue());
      } else {
        response.setHeader(header.getKey(), header.getValue());
      }
    }
    response.setContentLength(json.length);
    response.getOutputStream().write(json);
    return true;
  }
}
