package dev.once.servlet;

import dev.once.StoredResponse.Header;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The response a keyed handler writes to: everything goes to the client as usual, and a copy of
 * the body (up to {@code maxResponseBytes}) is kept so the response can be stored when the handler
 * is done. Status and headers are read from the real response at that point, so whatever the
 * handler or the container set ({@code sendRedirect}'s resolved {@code Location}, the writer's
 * charset) is what gets stored.
 */
final class CapturingResponse extends HttpServletResponseWrapper {
  private final ResponseCapture capture;
  private TeeOutputStream stream;
  private PrintWriter writer;
  private Writer captureWriter;

  CapturingResponse(HttpServletResponse response, long maxResponseBytes) {
    super(response);
    this.capture = new ResponseCapture(maxResponseBytes);
  }

  @Override
  public ServletOutputStream getOutputStream() throws IOException {
    ServletOutputStream out = super.getOutputStream();
    if (stream == null || stream.delegate != out) {
      stream = new TeeOutputStream(out, capture);
    }
    return stream;
  }

  @Override
  public PrintWriter getWriter() throws IOException {
    PrintWriter out = super.getWriter();
    if (writer == null) {
      captureWriter = new OutputStreamWriter(capture, charset());
      writer = new PrintWriter(new TeeWriter(out, captureWriter));
    }
    return writer;
  }

  @Override
  public void reset() {
    super.reset();
    discardCapture();
    stream = null;
    writer = null;
    captureWriter = null;
  }

  @Override
  public void resetBuffer() {
    super.resetBuffer();
    discardCapture();
  }

  /** @return the body the client was sent, or null if it was over the limit */
  byte[] capturedBody() {
    flushCapture();
    return capture.bytes();
  }

  /** @return every header of the real response, in order */
  List<Header> capturedHeaders() {
    List<Header> headers = new ArrayList<>();
    Set<String> seen = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (String name : getHeaderNames()) {
      if (seen.add(name)) {
        for (String value : getHeaders(name)) {
          headers.add(new Header(name, value));
        }
      }
    }
    String contentType = getContentType();
    if (contentType != null && !seen.contains("Content-Type")) {
      headers.add(new Header("Content-Type", contentType));
    }
    return headers;
  }

  private void discardCapture() {
    flushCapture();
    capture.reset();
  }

  private void flushCapture() {
    if (captureWriter != null) {
      try {
        captureWriter.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e); // the capture is in memory and cannot fail
      }
    }
  }

  private Charset charset() {
    String name = getCharacterEncoding();
    try {
      return name == null ? StandardCharsets.ISO_8859_1 : Charset.forName(name);
    } catch (IllegalArgumentException e) {
      return StandardCharsets.ISO_8859_1;
    }
  }
}
