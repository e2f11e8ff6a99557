package dev.once.suite;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * What a test's servlet does, in a servlet container such as {@link JettyServer}: the Servlet
 * API's own request and response, for the tests that need more of it than a suite {@link Handler}
 * gives. Needs the Servlet API on the class path (this jar does not bring it).
 */
@FunctionalInterface
public interface ServletHandler {

  /**
   * @param request the request
   * @param response the response
   * @throws Exception any failure: it reaches the container, which answers 500
   */
  void handle(HttpServletRequest request, HttpServletResponse response) throws Exception;

  /** @return a servlet that calls this handler for every method */
  default HttpServlet asServlet() {
    ServletHandler handler = this;
    return new HttpServlet() {
      private static final long serialVersionUID = 1L;

      @Override
      protected void service(HttpServletRequest request, HttpServletResponse response) {
        try {
          handler.handle(request, response);
        } catch (RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    };
  }
}
