package dev.once.benchmarks;

import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * One client's request and response objects, recycled for each request it sends through a filter,
 * as a container recycles its own. Used by one thread at a time.
 */
final class BenchExchange {
  private static final byte[] NO_BODY = new byte[0];
  /** Far beyond any wait a benchmark configures: a cycle that takes this long is a bug. */
  private static final long ASYNC_LIMIT_SECONDS = 60;

  final BenchRequest request = new BenchRequest("POST", "/test", Once.DEFAULT_HEADER);
  final BenchResponse response = new BenchResponse();

  /**
   * Sends {@code POST /test} through {@code filter} to {@code handler}. If the filter parked the
   * request (a duplicate that waits), this thread then serves the request's async cycle until the
   * filter completes it, as a container's pool would.
   *
   * @param key the key, or null for none
   * @param body the body, or null for none
   * @return the response, valid until the next call
   */
  BenchResponse send(OnceFilter filter, FilterChain handler, String key, byte[] body)
      throws IOException, ServletException {
    request.recycle(key, body == null ? NO_BODY : body);
    response.recycle();
    filter.doFilter(request, response, handler);
    if (request.isAsyncStarted()) {
      try {
        request.getAsyncContext().awaitEnd(ASYNC_LIMIT_SECONDS, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ServletException("interrupted in an async cycle", e);
      }
    }
    return response;
  }

  /**
   * Checks a response before measuring, so a benchmark never measures the wrong path.
   *
   * @param what what the response should be, for the message
   * @param replayed whether it must carry {@code Idempotent-Replayed}
   */
  static void expect(String what, HttpServletResponse response, boolean replayed) {
    boolean wasReplayed = "true".equals(response.getHeader(Once.REPLAYED_HEADER));
    if (response.getStatus() != 200 || wasReplayed != replayed) {
      throw new IllegalStateException("expected " + what + ", but got status "
          + response.getStatus() + (wasReplayed ? " (replayed)" : " (not replayed)"));
    }
  }
}
