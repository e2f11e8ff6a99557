package dev.once.servlet;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;

/**
 * The response's writer, copying every character the client is sent into the capture, encoded
 * with the response's charset. The container's own writer does the real encoding, so its charset
 * rules are kept exactly. As with {@link TeeOutputStream}, characters are copied before they are
 * passed on, so the record is finished before the client can see the response's end.
 */
final class TeeWriter extends Writer {
  private final PrintWriter delegate;
  private final Writer capture;
  private final CapturingResponse response;

  TeeWriter(PrintWriter delegate, Writer capture, CapturingResponse response) {
    this.delegate = delegate;
    this.capture = capture;
    this.response = response;
  }

  @Override
  public void write(int c) throws IOException {
    capture.write(c);
    response.bodyWritten();
    delegate.write(c);
  }

  @Override
  public void write(char[] chars, int offset, int length) throws IOException {
    capture.write(chars, offset, length);
    response.bodyWritten();
    delegate.write(chars, offset, length);
  }

  @Override
  public void write(String text, int offset, int length) throws IOException {
    capture.write(text, offset, length);
    response.bodyWritten();
    delegate.write(text, offset, length);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
    capture.flush();
  }

  @Override
  public void close() throws IOException {
    capture.flush();
    response.ending();
    delegate.close();
  }
}
