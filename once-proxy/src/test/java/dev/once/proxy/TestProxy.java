package dev.once.proxy;

import dev.once.spi.IdempotencyStore;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The real proxy, started in this JVM through the same code as its main class, on a free port. */
final class TestProxy implements AutoCloseable {
  private final OnceProxy.Running running;

  private TestProxy(OnceProxy.Running running) {
    this.running = running;
  }

  /** Starts a proxy with these flags (and {@code --listen 127.0.0.1:0}), owning its store. */
  static TestProxy start(String... flags) {
    return new TestProxy(OnceProxy.start(options(flags)));
  }

  /** Starts a proxy over {@code store}, which the test keeps and closes. */
  static TestProxy start(IdempotencyStore store, String... flags) {
    return new TestProxy(OnceProxy.start(options(flags), store, false));
  }

  /** Starts the benchmark's plain proxy (no idempotency, no health endpoint) with these flags. */
  static TestProxy startPlain(String... flags) {
    return new TestProxy(OnceProxy.startPlain(options(flags)));
  }

  private static ProxyOptions options(String... flags) {
    List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0"));
    args.addAll(List.of(flags));
    return ProxyOptions.parse(args.toArray(new String[0]), Map.of());
  }

  URI uri(String path) {
    return URI.create(running.uri() + path);
  }

  int port() {
    return running.port();
  }

  /** @return {@code path} on the admin listener */
  URI adminUri(String path) {
    return URI.create(running.adminUri() + path);
  }

  /** @return the built-in demo upstream's address, or null */
  URI demoUri() {
    return running.demoUri();
  }

  /** Stops it the way SIGTERM does. */
  boolean stop() {
    return running.stop();
  }

  @Override
  public void close() {
    running.stop();
  }
}
