package dev.once.benchmarks;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The async cycle of a {@link BenchRequest}, run as a container runs one, with the thread that sent
 * the request as the container's pool: the filter's call returns once it has parked the request,
 * and that thread then runs, in {@link #awaitEnd}, the work the cycle is handed ({@link #start}:
 * the filter writing a waiting duplicate's answer) until the cycle is completed. So a parked
 * request
 * holds no thread inside the filter, and its answer is written on its own client's thread, not on
 * the thread that woke it. No timeout fires: the engine bounds every wait itself.
 */
final class BenchAsyncContext implements AsyncContext {
  private static final Runnable WAKE = () -> { };

  private final ServletRequest request;
  private final ServletResponse response;
  private final List<AsyncListener> listeners = new ArrayList<>(1);
  private final LinkedBlockingQueue<Runnable> work = new LinkedBlockingQueue<>();
  private volatile boolean completed;
  private long timeout = 30_000;

  BenchAsyncContext(ServletRequest request, ServletResponse response) {
    this.request = request;
    this.response = response;
  }

  /** @return true once {@link #complete} was called */
  boolean isCompleted() {
    return completed;
  }

  /**
   * Runs the work handed to the cycle, on the calling thread, until the cycle is completed.
   *
   * @param limit the longest time to wait for the next piece of work
   * @param unit its unit
   * @throws IllegalStateException if no work came within {@code limit}
   */
  void awaitEnd(long limit, TimeUnit unit) throws InterruptedException {
    while (!completed) {
      Runnable next = work.poll(limit, unit);
      if (next == null) {
        throw new IllegalStateException("the async cycle did not end within " + limit + " "
            + unit);
      }
      next.run();
    }
  }

  @Override
  public ServletRequest getRequest() {
    return request;
  }

  @Override
  public ServletResponse getResponse() {
    return response;
  }

  @Override
  public boolean hasOriginalRequestAndResponse() {
    return false;
  }

  @Override
  public void dispatch() {
    throw new UnsupportedOperationException("the benchmark request does not dispatch");
  }

  @Override
  public void dispatch(String path) {
    throw new UnsupportedOperationException("the benchmark request does not dispatch");
  }

  @Override
  public void dispatch(ServletContext context, String path) {
    throw new UnsupportedOperationException("the benchmark request does not dispatch");
  }

  @Override
  public void complete() {
    if (completed) {
      throw new IllegalStateException("the async cycle was already completed");
    }
    completed = true;
    for (AsyncListener listener : listeners) {
      try {
        listener.onComplete(new AsyncEvent(this, request, response));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    work.add(WAKE);
  }

  @Override
  public void start(Runnable run) {
    if (completed) {
      throw new IllegalStateException("the async cycle was already completed");
    }
    work.add(run);
  }

  @Override
  public void addListener(AsyncListener listener) {
    listeners.add(listener);
  }

  @Override
  public void addListener(AsyncListener listener, ServletRequest request,
      ServletResponse response) {
    listeners.add(listener);
  }

  @Override
  public <T extends AsyncListener> T createListener(Class<T> type) throws ServletException {
    try {
      return type.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new ServletException("cannot create " + type, e);
    }
  }

  @Override
  public void setTimeout(long timeout) {
    this.timeout = timeout;
  }

  @Override
  public long getTimeout() {
    return timeout;
  }
}
