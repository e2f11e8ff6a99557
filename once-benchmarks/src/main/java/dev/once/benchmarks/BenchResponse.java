package dev.once.benchmarks;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * A light, in-memory HTTP response for driving {@code OnceFilter} without a container or a mocking
 * framework: status, headers (a name may repeat) and a body buffer that keeps what was written.
 * Recycled like a container's response ({@link #recycle}), so what a benchmark measures is the
 * filter's own cost. It serves what the filter and the benchmarks' handlers call; any other method
 * (cookies, redirects, errors, locales) fails ({@link Unserved}). Used by one thread at a time.
 */
final class BenchResponse extends HttpServletResponseWrapper {
  private static final int MAX_HEADERS = 16;

  private final String[] names = new String[MAX_HEADERS];
  private final String[] values = new String[MAX_HEADERS];
  private final Output output = new Output();
  private int headerCount;
  private int status;
  private String contentType;
  private String characterEncoding;
  private long contentLength;
  private boolean committed;
  private PrintWriter writer;

  BenchResponse() {
    super(Unserved.as(HttpServletResponse.class, "the benchmark response"));
    recycle();
  }

  /**
   * Makes this object a fresh response.
   *
   * @return this response
   */
  BenchResponse recycle() {
    Arrays.fill(names, 0, headerCount, null);
    Arrays.fill(values, 0, headerCount, null);
    headerCount = 0;
    status = SC_OK;
    contentType = null;
    characterEncoding = null;
    contentLength = -1;
    committed = false;
    output.count = 0;
    writer = null;
    return this;
  }

  /** @return the number of body bytes written */
  int bodyLength() {
    if (writer != null) {
      writer.flush();
    }
    return output.count;
  }

  /** @return the body written, decoded as UTF-8 (for checks, not for the measured path) */
  String bodyText() {
    return new String(output.buffer, 0, bodyLength(), StandardCharsets.UTF_8);
  }

  @Override
  public void setStatus(int status) {
    if (!committed) {
      this.status = status;
    }
  }

  @Override
  public int getStatus() {
    return status;
  }

  @Override
  public void setHeader(String name, String value) {
    if (committed || special(name, value)) {
      return;
    }
    int first = remove(name);
    if (value != null) {
      insert(first < 0 ? headerCount : first, name, value);
    }
  }

  @Override
  public void addHeader(String name, String value) {
    if (!committed && value != null && !special(name, value)) {
      insert(headerCount, name, value);
    }
  }

  /** As a container does, the content type and length set as headers go to their fields. */
  private boolean special(String name, String value) {
    if ("Content-Type".equalsIgnoreCase(name)) {
      contentType = value;
      return true;
    }
    if ("Content-Length".equalsIgnoreCase(name)) {
      contentLength = value == null ? -1 : Long.parseLong(value);
      return true;
    }
    return false;
  }

  @Override
  public String getHeader(String name) {
    if ("Content-Type".equalsIgnoreCase(name)) {
      return getContentType();
    }
    for (int i = 0; i < headerCount; i++) {
      if (names[i].equalsIgnoreCase(name)) {
        return values[i];
      }
    }
    return null;
  }

  @Override
  public Collection<String> getHeaders(String name) {
    List<String> all = new ArrayList<>(1);
    if ("Content-Type".equalsIgnoreCase(name)) {
      if (contentType != null) {
        all.add(getContentType());
      }
      return all;
    }
    for (int i = 0; i < headerCount; i++) {
      if (names[i].equalsIgnoreCase(name)) {
        all.add(values[i]);
      }
    }
    return all;
  }

  @Override
  public Collection<String> getHeaderNames() {
    List<String> all = new ArrayList<>(headerCount + 1);
    for (int i = 0; i < headerCount; i++) {
      all.add(names[i]);
    }
    if (contentType != null) {
      all.add("Content-Type");
    }
    return all;
  }

  @Override
  public void setDateHeader(String name, long date) {
    setHeader(name, Long.toString(date));
  }

  @Override
  public void setContentType(String type) {
    if (!committed) {
      this.contentType = type;
    }
  }

  @Override
  public String getContentType() {
    if (contentType == null || characterEncoding == null || contentType.contains("charset=")) {
      return contentType;
    }
    return contentType + ";charset=" + characterEncoding;
  }

  @Override
  public void setCharacterEncoding(String charset) {
    if (!committed) {
      this.characterEncoding = charset;
    }
  }

  @Override
  public String getCharacterEncoding() {
    return characterEncoding == null ? "ISO-8859-1" : characterEncoding;
  }

  @Override
  public void setContentLength(int length) {
    setContentLengthLong(length);
  }

  @Override
  public void setContentLengthLong(long length) {
    if (!committed) {
      this.contentLength = length;
    }
  }

  /** @return the declared content length, or -1 */
  long contentLength() {
    return contentLength;
  }

  @Override
  public ServletOutputStream getOutputStream() {
    return output;
  }

  @Override
  public PrintWriter getWriter() {
    if (writer == null) {
      writer = new PrintWriter(new OutputStreamWriter(output,
          Charset.forName(getCharacterEncoding())));
    }
    return writer;
  }

  @Override
  public void flushBuffer() {
    committed = true;
  }

  @Override
  public void resetBuffer() {
    if (committed) {
      throw new IllegalStateException("the response is committed");
    }
    output.count = 0;
  }

  @Override
  public boolean isCommitted() {
    return committed;
  }

  @Override
  public void reset() {
    if (committed) {
      throw new IllegalStateException("the response is committed");
    }
    recycle();
  }

  private int remove(String name) {
    int first = -1;
    int kept = 0;
    for (int i = 0; i < headerCount; i++) {
      if (names[i].equalsIgnoreCase(name)) {
        if (first < 0) {
          first = kept;
        }
        continue;
      }
      names[kept] = names[i];
      values[kept] = values[i];
      kept++;
    }
    Arrays.fill(names, kept, headerCount, null);
    Arrays.fill(values, kept, headerCount, null);
    headerCount = kept;
    return first;
  }

  private void insert(int at, String name, String value) {
    if (headerCount == MAX_HEADERS) {
      throw new IllegalStateException("the benchmark response holds at most " + MAX_HEADERS
          + " headers");
    }
    System.arraycopy(names, at, names, at + 1, headerCount - at);
    System.arraycopy(values, at, values, at + 1, headerCount - at);
    names[at] = name;
    values[at] = value;
    headerCount++;
  }

  /** The body, kept in a buffer that grows once and is reused. */
  private final class Output extends ServletOutputStream {
    byte[] buffer = new byte[1024];
    int count;

    @Override
    public void write(int b) {
      ensure(1);
      buffer[count++] = (byte) b;
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
      ensure(length);
      System.arraycopy(bytes, offset, buffer, count, length);
      count += length;
    }

    private void ensure(int length) {
      if (count + length > buffer.length) {
        buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, count + length));
      }
    }

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setWriteListener(WriteListener listener) {
      throw new IllegalStateException("the benchmark response does not support async IO");
    }
  }
}
