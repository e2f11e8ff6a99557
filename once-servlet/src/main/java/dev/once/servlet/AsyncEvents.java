package dev.once.servlet;

import dev.once.Exchange;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import java.io.IOException;

/**
 * Reports the async cycle of a keyed handler to its exchange. The handler's own {@code
 * complete()} is reported by {@link EndingAsyncContext} before the container ends the response;
 * this listener hears what the container says afterwards: the cycle completed (after a {@code
 * dispatch()}, or after the handler's {@code complete()}, which the exchange then ignores), timed
 * out, or failed.
 *
 * <p>After a timeout or an error the container ends the cycle itself, with an error response of
 * its own unless the handler answers, possibly while the handler is still writing: so the record
 * is finished as a failure when the cycle completes (before or after commit, as the response
 * stands then), never stored as an answer that may be cut short. An I/O error on the connection
 * also tells the exchange the client is gone.
 */
final class AsyncEvents implements AsyncListener {
  private final CapturingResponse response;
  private volatile boolean failed;

  AsyncEvents(CapturingResponse response) {
    this.response = response;
  }

  @Override
  public void onComplete(AsyncEvent event) {
    Exchange exchange = response.exchange();
    if (!failed) {
      OnceFilter.await(exchange.asyncCompleted(response));
    } else if (response.isCommitted()) {
      OnceFilter.await(exchange.failedAfterCommit(event.getThrowable(), response));
    } else {
      OnceFilter.await(exchange.failedBeforeCommit(event.getThrowable()));
    }
  }

  @Override
  public void onTimeout(AsyncEvent event) {
    failed = true;
  }

  @Override
  public void onError(AsyncEvent event) {
    if (event.getThrowable() instanceof IOException) {
      response.exchange().clientGone();
    }
    failed = true;
  }

  @Override
  public void onStartAsync(AsyncEvent event) {
    // a new async cycle drops its listeners unless they add themselves again
    event.getAsyncContext().addListener(this);
  }
}
