package dev.once.webflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.suite.OnceHttpSuite;
import dev.once.suite.ServerFactory;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The shared HTTP suite: {@link OnceWebFilter} in Spring WebFlux on Reactor Netty, every case
 * unchanged. Each case also fails if anything blocked an event loop or a non-blocking Reactor
 * thread (BlockHound), and the class fails if Netty's leak detector, set to paranoid, found a
 * buffer that was never released.
 */
class OnceWebFilterSuiteTest extends OnceHttpSuite {

  @BeforeAll
  static void watchForBlockingCallsAndLeaks() {
    NonBlocking.install();
    assertThat(NettyLeaks.level()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
  }

  @Override
  protected ServerFactory servers() {
    return SuiteServers.reactorNetty();
  }

  @AfterEach
  void nothingBlockedANonBlockingThread() {
    try {
      assertThat(NonBlocking.violations()).isEmpty();
    } finally {
      NonBlocking.clear();
    }
  }

  @AfterAll
  static void noBufferLeaked() throws InterruptedException {
    assertThat(NettyLeaks.check()).isEmpty();
  }
}
