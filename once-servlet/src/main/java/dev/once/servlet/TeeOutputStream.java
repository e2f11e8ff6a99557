package dev.once.servlet;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The response's output stream, copying every byte the client is sent into the capture before it
 * is passed on (see {@link dev.once.adapter.TeeOutput}, which does the writing); the container's
 * stream answers the non-blocking calls.
 */
final class TeeOutputStream extends ServletOutputStream {
  final ServletOutputStream delegate;
  private final OutputStream tee;

  TeeOutputStream(ServletOutputStream delegate, OutputStream tee) {
    this.delegate = delegate;
    this.tee = tee;
  }

  @Override
  public void write(int b) throws IOException {
    tee.write(b);
  }

  @Override
  public void write(byte[] bytes, int offset, int length) throws IOException {
    tee.write(bytes, offset, length);
  }

  @Override
  public void flush() throws IOException {
    tee.flush();
  }

  @Override
  public void close() throws IOException {
    tee.close();
  }

  @Override
  public boolean isReady() {
    return delegate.isReady();
  }

  @Override
  public void setWriteListener(WriteListener listener) {
    delegate.setWriteListener(listener);
  }
}
