package dev.once.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An upstream that misbehaves at the socket level, as no HTTP server library would: it reads a
 * request's head, then does what the test says (answer half and reset, reset at once).
 */
final class RawUpstream implements AutoCloseable {
  private final ServerSocket server;
  private final AtomicInteger requests = new AtomicInteger();
  private final Thread acceptor;

  /** What to do with a connection once the request head has been read. */
  @FunctionalInterface
  interface Behaviour {
    void answer(Socket socket, OutputStream out) throws IOException;
  }

  RawUpstream(Behaviour behaviour) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try (Socket socket = server.accept()) {
          readHead(socket.getInputStream());
          requests.incrementAndGet();
          behaviour.answer(socket, socket.getOutputStream());
        } catch (IOException e) {
          // closed, or the proxy went away: next connection
        }
      }
    }, "raw-upstream");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Answers nothing and resets the connection. */
  static void reset(Socket socket, OutputStream out) throws IOException {
    socket.setSoLinger(true, 0);
  }

  /** Sends {@code head} and the first {@code sent} bytes of a body, then resets the connection. */
  static Behaviour breakOffAfter(String head, int sent) {
    return (socket, out) -> {
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.write(new byte[sent]);
      out.flush();
      try {
        Thread.sleep(300); // let the proxy relay what it has before the reset
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      socket.setSoLinger(true, 0);
    };
  }

  private static void readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    for (int b; matched < 4 && (b = in.read()) != -1; ) {
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  int requests() {
    return requests.get();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
