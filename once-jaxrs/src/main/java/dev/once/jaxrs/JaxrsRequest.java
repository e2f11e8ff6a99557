package dev.once.jaxrs;

import dev.once.OnceRequest;
import dev.once.RequestTooLargeException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.SecurityContext;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.security.Principal;
import java.util.List;

/**
 * The engine's view of a Jakarta REST request. Once the engine has read the body to fingerprint it,
 * the context's entity stream is replaced with the same bytes, so the resource method reads the
 * body as if nothing had.
 */
final class JaxrsRequest implements OnceRequest {
  private final ContainerRequestContext context;
  private final URI uri;
  private byte[] body;

  JaxrsRequest(ContainerRequestContext context) {
    this.context = context;
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
  public String query() {
    return uri.getRawQuery();
  }

  @Override
  public List<String> headers(String name) {
    List<String> values = context.getHeaders().get(name);
    return values == null ? List.of() : values;
  }

  @Override
  public String principal() {
    SecurityContext security = context.getSecurityContext();
    Principal principal = security == null ? null : security.getUserPrincipal();
    return principal == null ? null : principal.getName();
  }

  @Override
  public byte[] body(long maxBytes) throws IOException {
    if (body != null) {
      return body;
    }
    long declared = declaredLength();
    if (declared > maxBytes) {
      throw new RequestTooLargeException(maxBytes);
    }
    InputStream in = context.getEntityStream();
    ByteArrayOutputStream read = new ByteArrayOutputStream(
        declared > 0 ? (int) declared : 256);
    if (in != null) {
      byte[] buffer = new byte[8192];
      for (int n; (n = in.read(buffer)) >= 0; ) {
        read.write(buffer, 0, n);
        if (read.size() > maxBytes) {
          throw new RequestTooLargeException(maxBytes);
        }
      }
    }
    if (declared >= 0 && read.size() != declared) {
      // a runtime that reads a cut-off body as a short one must not have it fingerprinted
      throw new EOFException("the request body ended after " + read.size() + " of its "
          + declared + " bytes");
    }
    body = read.toByteArray();
    context.setEntityStream(new ByteArrayInputStream(body));
    return body;
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
