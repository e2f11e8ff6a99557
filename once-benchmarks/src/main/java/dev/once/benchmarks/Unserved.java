package dev.once.benchmarks;

import java.lang.reflect.Proxy;

/**
 * What stands behind the light request and response for the methods they do not serve: each call
 * fails, naming the method, so a benchmark never measures a path its objects only pretend to
 * serve. Called on no measured path (the objects serve every method the filter and the handlers
 * call), so its reflection costs nothing there.
 */
final class Unserved {
  private Unserved() {}

  /**
   * @param type the interface
   * @param what the object, for the message ("the benchmark request")
   * @return an implementation of {@code type} whose every method throws {@link
   *     UnsupportedOperationException}
   */
  static <T> T as(Class<T> type, String what) {
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> {
          throw new UnsupportedOperationException(what + " does not serve " + method.getName());
        }));
  }
}
