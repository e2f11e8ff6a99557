package dev.once.suite;

/**
 * Starts a real HTTP server with an adapter of {@code once} in front of the suite's handlers: what
 * each adapter gives {@link OnceHttpSuite}. The suite starts several servers per test class and
 * closes each.
 *
 * <p>What the server must be:
 *
 * <ul>
 *   <li>listening on {@code 127.0.0.1}, on a free port, speaking HTTP/1.1;
 *   <li>with the adapter, built over {@link ServerSpec#once()}, in front of every path, for every
 *       method, with no key scope of its own (no authenticated principal: keys are global);
 *   <li>each route's {@link Handler} at its exact path, any method; its {@link Request} carries the
 *       method, raw path and raw query as received and the whole body; its {@link Reply} is
 *       written as {@link Reply} says, in chunks, by "add"ing headers;
 *   <li>{@link Handler.Blocking} handlers run where blocking is allowed; {@link Handler.Async}
 *       ones hold no thread until their stage completes; an exception or a failed stage is
 *       answered 500, as the framework does for an unhandled one;
 *   <li>the request threads bounded by {@link ServerSpec#workerThreads()} when it is positive, if
 *       the server has such a pool.
 * </ul>
 */
@FunctionalInterface
public interface ServerFactory {

  /**
   * @param spec the engine and the routes
   * @return the started server
   * @throws Exception if it cannot start
   */
  RunningServer start(ServerSpec spec) throws Exception;
}
