package dev.once.spring;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Keeps the body of a keyed {@code PUT}, {@code PATCH} or {@code DELETE} form request readable
 * twice. Spring's {@code FormContentFilter} (order -9900, before Spring Security and the once
 * filters) reads such a body to expose its parameters; without this filter the once filter would
 * then find the body gone, fingerprint it as empty and serve the handler no parameters. So, just
 * before it, this filter wraps those requests (and only those) in a view whose input stream can be
 * opened again over the same bytes. {@code FormContentFilter} reads the whole body into memory
 * anyway, so this keeps no more than it does. Thread-safe.
 */
final class FormBodyFilter implements Filter {
  /** Just before Spring's {@code OrderedFormContentFilter.DEFAULT_ORDER} (-9900). */
  static final int ORDER = -9901;

  private static final Set<String> FORM_METHODS = Set.of("PUT", "PATCH", "DELETE");
  private static final String FORM = "application/x-www-form-urlencoded";

  private final String header;

  FormBodyFilter(String header) {
    this.header = header;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    if (request instanceof HttpServletRequest && isKeyedForm((HttpServletRequest) request)) {
      chain.doFilter(new RereadableBody((HttpServletRequest) request), response);
    } else {
      chain.doFilter(request, response);
    }
  }

  private boolean isKeyedForm(HttpServletRequest request) {
    String type = request.getContentType();
    return FORM_METHODS.contains(request.getMethod())
        && type != null
        && type.toLowerCase(Locale.ROOT).startsWith(FORM)
        && request.getHeader(header) != null;
  }

  /** A request whose body is read once, then served again from memory to every reader. */
  private static final class RereadableBody extends HttpServletRequestWrapper {
    private byte @Nullable [] body;

    RereadableBody(HttpServletRequest request) {
      super(request);
    }

    @Override
    public ServletInputStream getInputStream() throws IOException {
      if (body == null) {
        body = super.getInputStream().readAllBytes();
      }
      return new BytesInputStream(body);
    }
  }

  /** A servlet input stream over bytes in memory. */
  private static final class BytesInputStream extends ServletInputStream {
    private final ByteArrayInputStream in;

    BytesInputStream(byte[] bytes) {
      this.in = new ByteArrayInputStream(bytes);
    }

    @Override
    public int read() {
      return in.read();
    }

    @Override
    public int read(byte[] into, int offset, int length) {
      return in.read(into, offset, length);
    }

    @Override
    public boolean isFinished() {
      return in.available() == 0;
    }

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setReadListener(ReadListener listener) {
      try {
        listener.onDataAvailable();
        listener.onAllDataRead();
      } catch (IOException e) {
        listener.onError(e);
      }
    }
  }
}
