package dev.once.proxy;

import java.util.concurrent.RejectedExecutionException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.eclipse.jetty.util.thread.TryExecutor;
import org.jspecify.annotations.Nullable;

/**
 * Handing a request to a handler that may block (the servlet context, the health check's store
 * ping) from the proxy's non-blocking handlers, which Jetty runs on the thread that read the
 * request. A request answered from memory (a replay, a refusal) or forwarded by the core proxy
 * then never changes threads; one that may block runs on the server's pool, as every request did
 * before. Thread-safe.
 */
final class Dispatch {
  private Dispatch() {}

  /**
   * Runs {@code next.handle} on the server's pool; a handler that declines the request answers
   * 404, one that throws answers with the server's error handler.
   *
   * @param failed called, before the error is written, when the handler declined or threw (or
   *     the pool refused the task), or null
   * @return true: the request is handled, and {@code callback} completed by it or by the error
   */
  static boolean toPool(Handler next, Request request, Response response, Callback callback,
      @Nullable Failed failed) {
    Runnable task = () -> {
      try {
        if (!next.handle(request, response, callback)) {
          if (failed != null) {
            failed.run(null);
          }
          Response.writeError(request, response, callback, 404);
        }
      } catch (Throwable e) {
        if (failed != null) {
          failed.run(e);
        }
        Response.writeError(request, response, callback, e);
      }
    };
    try {
      // a reserved thread, when one is spinning, takes it without a wake-up
      ThreadPool pool = request.getComponents().getThreadPool();
      if (!(pool instanceof TryExecutor reserved) || !reserved.tryExecute(task)) {
        pool.execute(task);
      }
    } catch (RejectedExecutionException e) {
      if (failed != null) {
        failed.run(e);
      }
      Response.writeError(request, response, callback, 503);
    }
    return true;
  }

  /** What is undone when a dispatched request was not handled. */
  @FunctionalInterface
  interface Failed {
    void run(@Nullable Throwable failure);
  }

  /**
   * The top of the proxy's handlers: tells Jetty they never block, so it runs them on the thread
   * that read the request instead of handing each request to another thread, and sends the health
   * endpoints (whose check pings the store) to the pool.
   */
  static final class NonBlocking extends Handler.Wrapper {
    NonBlocking(Handler next) {
      super(next);
    }

    @Override
    public InvocationType getInvocationType() {
      return InvocationType.NON_BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback)
        throws Exception {
      String path = request.getHttpURI().getPath();
      if (path != null && path.startsWith(HealthHandler.PREFIX)) {
        return toPool(getHandler(), request, response, callback, null);
      }
      return super.handle(request, response, callback);
    }
  }
}
