package dev.once.webflux;

import dev.once.spi.Token;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.blockhound.BlockHound;
import reactor.blockhound.BlockingOperationError;

/**
 * BlockHound, installed once per JVM: a blocking call (a sleep, a lock that parks, a blocking read
 * or write) on a thread that must never block, a Reactor Netty event loop or one of Reactor's
 * non-blocking schedulers, is recorded and fails the test that made it. The integrations of Netty
 * and Reactor, found on the class path, say which threads those are.
 */
final class NonBlocking {
  private static final List<String> VIOLATIONS = new CopyOnWriteArrayList<>();

  static {
    // the owner tokens' per-process salt comes from SecureRandom, whose first use reads the
    // system's seed file: once per process, wherever the first key is claimed. Done here, before
    // the watch starts, so that one read does not fail whichever test claims first
    Token.random();
    BlockHound.builder()
        .loadIntegrations()
        .blockingMethodCallback(method -> {
          VIOLATIONS.add(method + " on " + Thread.currentThread().getName() + "\n"
              + stack(new Throwable()));
          throw new BlockingOperationError(method);
        })
        .install();
  }

  private NonBlocking() {}

  /** Installs BlockHound if it is not yet. */
  static void install() {
    // the static initializer did it
  }

  /** @return the blocking calls recorded since the last {@link #clear}, each with its stack */
  static List<String> violations() {
    return List.copyOf(VIOLATIONS);
  }

  static void clear() {
    VIOLATIONS.clear();
  }

  private static String stack(Throwable where) {
    StringBuilder text = new StringBuilder();
    StackTraceElement[] frames = where.getStackTrace();
    for (int i = 0; i < Math.min(frames.length, 40); i++) {
      text.append("    at ").append(frames[i]).append('\n');
    }
    return text.toString();
  }
}
