package dev.once.suite;

import java.net.URI;

/** A server a {@link ServerFactory} started, listening on {@code 127.0.0.1}. */
public interface RunningServer extends AutoCloseable {

  /** @return the port the server listens on, on {@code 127.0.0.1} */
  int port();

  /**
   * @param pathAndQuery a path, with a query if any, such as {@code /status?code=500}
   * @return its URI on this server
   */
  default URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
  }

  /**
   * Stops the server. A handler still blocked is not waited for (the suite releases its latches
   * first).
   *
   * @throws Exception if the server fails to stop
   */
  @Override
  void close() throws Exception;

  /**
   * @param port the port the server listens on, on {@code 127.0.0.1}
   * @param stop what stops it
   * @return the server
   */
  static RunningServer of(int port, AutoCloseable stop) {
    return new RunningServer() {
      @Override
      public int port() {
        return port;
      }

      @Override
      public void close() throws Exception {
        stop.close();
      }
    };
  }
}
