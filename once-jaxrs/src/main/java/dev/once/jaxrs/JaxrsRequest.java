package dev.once.jaxrs;

import dev.once.Once;
import dev.once.OnceRequest;
import dev.once.RequestBodyTimeoutException;
import dev.once.RequestTooLargeException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.SecurityContext;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.security.Principal;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The engine's view of a Jakarta REST request. Once the engine has read the body to fingerprint it,
 * the context's entity stream is replaced with the same bytes, so the resource method reads the
 * body as if nothing had.
 *
 * <p>The body is read blocking (Jakarta REST has no other way), within the engine's {@code
 * bodyTimeout}: the time is looked at whenever a read returns, and a read that the server's own
 * idle timeout ended counts as the body not arriving in time. A client that sends nothing at all
 * holds the request thread until that idle timeout, as without the adapter.
 */
final class JaxrsRequest implements OnceRequest {
  /** The largest array a JVM is sure to allocate. */
  private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

  private final ContainerRequestContext context;
  private final Once engine;
  private final URI uri;
  private byte @Nullable [] body;

  JaxrsRequest(ContainerRequestContext context, Once engine) {
    this.context = context;
    this.engine = engine;
    this.uri = context.getUriInfo().getRequestUri();
  }

  @Override
  public String method() {
    return context.getMethod();
  }

  @Override
  public String path() {
    String path = uri.getRawPath();
    return path == null || path.isEmpty() ? "/" : path;
  }

  @Override
  public @Nullable String query() {
    return uri.getRawQuery();
  }

  @Override
  public List<String> headers(String name) {
    List<String> values = context.getHeaders().get(name);
    return values == null ? List.of() : values;
  }

  @Override
  public @Nullable String principal() {
    SecurityContext security = context.getSecurityContext();
    Principal principal = security == null ? null : security.getUserPrincipal();
    return principal == null ? null : principal.getName();
  }

  @Override
  public byte[] body(long maxBytes) throws IOException {
    if (body != null) {
      return body;
    }
    long start = engine.nanoTime();
    try {
      body = read(maxBytes, start);
    } catch (IOException e) {
      if (isTimeout(e) || engine.nanoTime() - start > engine.bodyTimeout().toNanos()) {
        throw new RequestBodyTimeoutException(engine.bodyTimeout());
      }
      throw e;
    }
    context.setEntityStream(new ByteArrayInputStream(body));
    return body;
  }

  private byte[] read(long maxBytes, long start) throws IOException {
    long declared = declaredLength();
    if (declared > maxBytes) {
      throw new RequestTooLargeException(maxBytes);
    }
    long limit = engine.bodyTimeout().toNanos();
    InputStream in = context.getEntityStream();
    // read straight into the body's own array: sized by Content-Length when it is declared (so a
    // typical body is read with no copy and no scratch buffer), grown when it is not; a declared
    // length is trusted only up to 64 KiB before the bytes have actually arrived
    byte[] buffer = new byte[(int) (declared >= 0 ? Math.min(declared, 64 * 1024) : 1024)];
    int count = 0;
    while (in != null) {
      int n;
      if (count == buffer.length) {
        // full: one more byte tells whether the body ended exactly here
        int next = in.read();
        n = next < 0 ? -1 : 1;
        if (n > 0) {
          if (count + 1L > maxBytes) {
            throw new RequestTooLargeException(maxBytes);
          }
          buffer = Arrays.copyOf(buffer, (int) Math.min(Math.max(count + 1L,
              Math.min(2L * count + 1024, maxBytes + 1)), MAX_ARRAY));
          buffer[count++] = (byte) next;
        }
      } else {
        n = in.read(buffer, count, buffer.length - count);
        if (n > 0) {
          count += n;
        }
      }
      // each read is bounded by the server's idle timeout, the whole body by this
      if (engine.nanoTime() - start > limit) {
        throw new RequestBodyTimeoutException(engine.bodyTimeout());
      }
      if (n < 0) {
        break;
      }
      if (count > maxBytes) {
        throw new RequestTooLargeException(maxBytes);
      }
    }
    if (declared >= 0 && count != declared) {
      // a runtime that reads a cut-off body as a short one must not have it fingerprinted
      throw new EOFException("the request body ended after " + count + " of its " + declared
          + " bytes");
    }
    return count == buffer.length ? buffer : Arrays.copyOf(buffer, count);
  }

  /**
   * @return true if {@code failure} is a server's idle timeout ending a read ({@link
   *     TimeoutException} from Grizzly, {@link SocketTimeoutException} from others): the client
   *     sent nothing for that long
   */
  private static boolean isTimeout(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TimeoutException || t instanceof SocketTimeoutException) {
        return true;
      }
    }
    return false;
  }

  private long declaredLength() {
    String value = context.getHeaderString(HttpHeaders.CONTENT_LENGTH);
    if (value == null) {
      return -1;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
