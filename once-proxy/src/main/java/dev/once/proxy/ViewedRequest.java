package dev.once.proxy;

import dev.once.OnceRequest;
import dev.once.RequestTooLargeException;
import java.util.List;
import org.eclipse.jetty.server.Request;
import org.jspecify.annotations.Nullable;

/**
 * A Jetty core request as the engine reads it: method, path, query and headers, and the body when
 * {@link KeyedLane} read it whole (else {@link #body} is empty: neither a key's scope nor a
 * request passed through is decided by the body). Used by one thread at a time, as the request
 * is.
 */
final class ViewedRequest implements OnceRequest {
  private static final byte[] NONE = new byte[0];

  private final Request request;
  private final byte[] body;

  /** The request without its body, for the access log and for a request passed through. */
  ViewedRequest(Request request) {
    this(request, NONE);
  }

  /**
   * @param request the request
   * @param body its whole body, already read
   */
  ViewedRequest(Request request, byte[] body) {
    this.request = request;
    this.body = body;
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
  public byte[] body(long maxBytes) throws RequestTooLargeException {
    if (body.length > maxBytes) {
      throw new RequestTooLargeException(maxBytes);
    }
    return body;
  }
}
