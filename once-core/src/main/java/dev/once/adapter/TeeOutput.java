package dev.once.adapter;

import dev.once.Exchange;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A keyed response's body on its way to the client through an {@link OutputStream} (the servlet
 * and JAX-RS adapters): its copy for the store, and whether the client is still there. One per
 * response; the streams it makes ({@link #stream}) share it, so a stream made again (after a
 * servlet response's reset) carries on with what the earlier one learnt.
 *
 * <p>A stream copies bytes before it passes them on, so that when they are the last ones (the
 * declared {@code Content-Length} is reached, or the stream is closed) the record is finished
 * before the client can see the end.
 *
 * <p>When a write to the client fails, the client hung up: the exchange is told, later writes go
 * to the copy only, and the writer goes on unaware, so its whole answer is stored for the client's
 * retry. Once the copy is over the limit there is no answer to keep, and the failure reaches the
 * writer as it would without the adapter.
 */
public final class TeeOutput {
  private final Exchange exchange;
  private final ResponseCapture capture;
  private volatile boolean clientGone;

  /**
   * @param exchange the exchange the response is reported to
   * @param maxResponseBytes how much of the body is kept at the most
   */
  public TeeOutput(Exchange exchange, long maxResponseBytes) {
    this.exchange = exchange;
    this.capture = new ResponseCapture(maxResponseBytes);
  }

  /** @return the copy of the body */
  public ResponseCapture capture() {
    return capture;
  }

  /**
   * @param client the stream towards the client
   * @param written run after each write is copied and before it is passed on: the place to notice
   *     that the body now has its declared length
   * @param ending run when the stream is closed, before the close is passed on
   * @return a stream that copies what is written, then passes it on to {@code client}
   */
  public Stream stream(OutputStream client, Runnable written, Runnable ending) {
    return new Stream(client, written, ending);
  }

  /**
   * A write to the client failed: it hung up. The writer goes on and its answer is kept, unless the
   * copy is already over the limit, when the failure is the writer's to see.
   *
   * @throws IOException {@code failure}, when there is no answer to keep
   */
  private void clientFailed(IOException failure) throws IOException {
    if (capture.isOverflowed()) {
      throw failure;
    }
    if (!clientGone) {
      clientGone = true;
      exchange.clientGone();
    }
  }

  /**
   * Called before each write once the client is gone.
   *
   * @throws IOException when the copy is over the limit, so the writer stops as it would without
   *     the adapter
   */
  private void checkStillKeeping() throws IOException {
    if (capture.isOverflowed()) {
      throw new IOException("the client is gone and the response is too large to keep");
    }
  }

  /** The body stream of one {@link TeeOutput}: see there. Used by one thread at a time. */
  public final class Stream extends OutputStream {
    private final OutputStream client;
    private final Runnable written;
    private final Runnable ending;
    private boolean passedAny;

    private Stream(OutputStream client, Runnable written, Runnable ending) {
      this.client = client;
      this.written = written;
      this.ending = ending;
    }

    /** @return true once any byte was passed on towards the client */
    public boolean passedAny() {
      return passedAny;
    }

    @Override
    public void write(int b) throws IOException {
      capture.write(b);
      if (passing()) {
        try {
          client.write(b);
        } catch (IOException e) {
          clientFailed(e);
        }
      }
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      capture.write(bytes, offset, length);
      if (passing()) {
        try {
          client.write(bytes, offset, length);
        } catch (IOException e) {
          clientFailed(e);
        }
      }
    }

    /**
     * Called after bytes were copied: tells the response, then decides whether they go on.
     *
     * @return false when the client is gone, so the bytes go to the copy only
     * @throws IOException when the client is gone and the copy is over the limit
     */
    private boolean passing() throws IOException {
      written.run();
      if (clientGone) {
        checkStillKeeping();
        return false;
      }
      passedAny = true;
      return true;
    }

    @Override
    public void flush() throws IOException {
      passOn(OutputStream::flush);
    }

    @Override
    public void close() throws IOException {
      ending.run();
      passOn(OutputStream::close);
    }

    /** Passes a flush or a close on to the client, unless it is gone. */
    private void passOn(ClientCall call) throws IOException {
      if (clientGone) {
        return;
      }
      try {
        call.on(client);
      } catch (IOException e) {
        clientFailed(e);
      }
    }
  }

  private interface ClientCall {
    void on(OutputStream client) throws IOException;
  }
}
