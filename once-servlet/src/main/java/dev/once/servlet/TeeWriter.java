package dev.once.servlet;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;

/**
 * The response's writer, copying every character the client is sent into the capture, encoded
 * with the response's charset. The container's own writer does the real encoding, so its charset
 * rules are kept exactly.
 */
final class TeeWriter extends Writer {
  private final PrintWriter delegate;
  private final Writer capture;

  TeeWriter(PrintWriter delegate, Writer capture) {
    this.delegate = delegate;
    this.capture = capture;
  }

  @Override
  public void write(int c) throws IOException {
    delegate.write(c);
    capture.write(c);
  }

  @Override
  public void write(char[] chars, int offset, int length) throws IOException {
    delegate.write(chars, offset, length);
    capture.write(chars, offset, length);
  }

  @Override
  public void write(String text, int offset, int length) throws IOException {
    delegate.write(text, offset, length);
    capture.write(text, offset, length);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
    capture.flush();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
    capture.flush();
  }
}
