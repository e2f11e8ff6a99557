package dev.once.suite;

import dev.once.Once;
import java.util.Map;
import java.util.Objects;

/**
 * The server the suite asks a {@link ServerFactory} for.
 *
 * @param once the configured engine the adapter puts in front of every route (and every other path)
 * @param routes the handler at each path; a path is matched exactly, whatever the query and the
 *     method (a route answers GET, POST, PATCH and any other method alike)
 * @param workerThreads when positive, the most threads the server may use to run requests, its
 *     blocking handlers and the adapter's own blocking work (Jetty's and Tomcat's request thread
 *     pool, a JAX-RS container's worker pool, the scheduler a WebFlux adapter runs {@link
 *     Handler.Blocking} handlers on): the suite sets it small to prove that duplicates waiting
 *     for a replay hold none. Zero: the server's default. A server without such a pool (an event
 *     loop serving only non-blocking work) may ignore it; the same test then proves an unrelated
 *     request is still answered while hundreds of duplicates wait
 */
public record ServerSpec(Once once, Map<String, Handler> routes, int workerThreads) {

  /**
   * @throws NullPointerException if {@code once} or {@code routes} is null
   * @throws IllegalArgumentException if {@code workerThreads} is negative, or a path does not start
   *     with {@code /}
   */
  public ServerSpec {
    Objects.requireNonNull(once, "once");
    routes = Map.copyOf(routes);
    if (workerThreads < 0) {
      throw new IllegalArgumentException(
          "workerThreads must not be negative, but was " + workerThreads);
    }
    for (String path : routes.keySet()) {
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("a route's path must start with /, but was " + path);
      }
    }
  }
}
