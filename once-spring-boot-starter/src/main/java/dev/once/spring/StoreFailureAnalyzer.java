package dev.once.spring;

import dev.once.spi.StoreException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Prints a {@link StoreException} that stopped the application (the Redis store connects at
 * start; the JDBC store creates its table at start when asked to) as what is wrong and what to do,
 * instead of a stack trace.
 */
final class StoreFailureAnalyzer extends AbstractFailureAnalyzer<StoreException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, StoreException cause) {
    return new FailureAnalysis("The once idempotency store could not be opened:\n\n    "
        + cause.getMessage(),
        "Make sure the store's server is running and reachable from this application, with the"
            + " settings it is configured with (spring.data.redis.*, spring.datasource.*), or"
            + " choose another store with once.store.",
        cause);
  }
}
