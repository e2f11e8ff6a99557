package dev.once.servlet;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import java.io.IOException;

/** The response's output stream, copying every byte the client is sent into the capture. */
final class TeeOutputStream extends ServletOutputStream {
  final ServletOutputStream delegate;
  private final ResponseCapture capture;

  TeeOutputStream(ServletOutputStream delegate, ResponseCapture capture) {
    this.delegate = delegate;
    this.capture = capture;
  }

  @Override
  public void write(int b) throws IOException {
    delegate.write(b);
    capture.write(b);
  }

  @Override
  public void write(byte[] bytes, int offset, int length) throws IOException {
    delegate.write(bytes, offset, length);
    capture.write(bytes, offset, length);
  }

  @Override
  public void flush() throws IOException {
    delegate.flush();
  }

  @Override
  public void close() throws IOException {
    delegate.close();
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
