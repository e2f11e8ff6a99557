/**
 * The HTTP behaviour suite every adapter of {@code once} runs, on any server: {@link
 * dev.once.suite.OnceHttpSuite}. An adapter extends it once per server and gives it a {@link
 * dev.once.suite.ServerFactory}: start a server on {@code 127.0.0.1} with the adapter, built over
 * the given {@code Once}, in front of the suite's routes, each a {@link dev.once.suite.Handler}
 * that the adapter calls with a {@link dev.once.suite.Request} and whose {@link
 * dev.once.suite.Reply} it writes. What the handlers do (count their runs, wait on the suite's
 * latches, throw, answer binary bodies, answer late) is the suite's own code, so every adapter
 * runs the same behaviour; an adapter implements only the two shapes a handler comes in,
 * {@link dev.once.suite.Handler.Blocking} and {@link dev.once.suite.Handler.Async}.
 *
 * <p>Beside it, the helpers the modules' own HTTP tests share: {@link dev.once.suite.Http}, the
 * client side (requests, raw bytes, checks of a problem or a replay), and {@link
 * dev.once.suite.JettyServer}, a Jetty server with a filter in front of {@link
 * dev.once.suite.ServletHandler}s, for the tests that bring Jetty.
 */
package dev.once.suite;
