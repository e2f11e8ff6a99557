package dev.once.proxy;

import dev.once.OnceRequest;
import java.util.List;
import org.eclipse.jetty.server.Request;
import org.jspecify.annotations.Nullable;

/**
 * A Jetty core request as the engine reads it without its body: method, path, query and headers.
 * Enough for the key scope the access log writes and for the engine to decide a request it passes
 * through (a method it does not cover, or no key where none is required), which it decides without
 * reading the body; {@link #body} is empty. Used by one thread at a time, as the request is.
 */
final class ViewedRequest implements OnceRequest {
  private final Request request;

  ViewedRequest(Request request) {
    this.request = request;
  }

  @Override
  public String method() {
    return request.getMethod();
  }

  @Override
  public String path() {
    return request.getHttpURI().getPath();
  }

  @Override
  public @Nullable String query() {
    return request.getHttpURI().getQuery();
  }

  @Override
  public List<String> headers(String name) {
    return request.getHeaders().getValuesList(name);
  }

  @Override
  public @Nullable String principal() {
    return null; // the proxy authenticates nobody
  }

  @Override
  public byte[] body(long maxBytes) {
    return new byte[0]; // never read: neither a scope nor a pass-through is decided by the body
  }
}
