package dev.once.servlet;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;

/**
 * The async context a keyed handler is given. Its {@code complete()} reports the end of the async
 * cycle to the exchange, which finishes the record, and only then lets the container end the
 * response: a container's {@code onComplete} listeners hear of the end only after the client may
 * have seen it, too late for a retry sent at once.
 */
final class EndingAsyncContext implements AsyncContext {
  final AsyncContext delegate;
  private final Runnable beforeComplete;

  EndingAsyncContext(AsyncContext delegate, Runnable beforeComplete) {
    this.delegate = delegate;
    this.beforeComplete = beforeComplete;
  }

  @Override
  public void complete() {
    try {
      beforeComplete.run();
    } finally {
      delegate.complete();
    }
  }

  @Override
  public ServletRequest getRequest() {
    return delegate.getRequest();
  }

  @Override
  public ServletResponse getResponse() {
    return delegate.getResponse();
  }

  @Override
  public boolean hasOriginalRequestAndResponse() {
    return delegate.hasOriginalRequestAndResponse();
  }

  @Override
  public void dispatch() {
    delegate.dispatch();
  }

  @Override
  public void dispatch(String path) {
    delegate.dispatch(path);
  }

  @Override
  public void dispatch(ServletContext context, String path) {
    delegate.dispatch(context, path);
  }

  @Override
  public void start(Runnable run) {
    delegate.start(run);
  }

  @Override
  public void addListener(AsyncListener listener) {
    delegate.addListener(listener);
  }

  @Override
  public void addListener(AsyncListener listener, ServletRequest request,
      ServletResponse response) {
    delegate.addListener(listener, request, response);
  }

  @Override
  public <T extends AsyncListener> T createListener(Class<T> type) throws ServletException {
    return delegate.createListener(type);
  }

  @Override
  public void setTimeout(long timeout) {
    delegate.setTimeout(timeout);
  }

  @Override
  public long getTimeout() {
    return delegate.getTimeout();
  }
}
