package dev.once.benchmarks.http;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * The load generator used when {@code wrk} is not installed: like {@code wrk}, a closed loop over
 * persistent HTTP/1.1 connections, one thread per connection, each sending its next request as
 * soon as the previous response has been read in full. It speaks just enough HTTP/1.1 for this
 * harness (responses with {@code Content-Length} or chunked bodies) and records every latency.
 */
final class JavaLoadGenerator implements LoadGenerator {
  private static final int SOCKET_TIMEOUT_MILLIS = 5_000;

  private final int connections;

  JavaLoadGenerator(int connections) {
    if (connections < 1) {
      throw new IllegalArgumentException("connections must be at least 1, but was " + connections);
    }
    this.connections = connections;
  }

  @Override
  public RunResult run(URI target, Workload workload, String keyPrefix, Duration duration)
      throws InterruptedException {
    Connection[] clients = new Connection[connections];
    Thread[] threads = new Thread[connections];
    CountDownLatch ready = new CountDownLatch(connections);
    CountDownLatch start = new CountDownLatch(1);
    for (int i = 0; i < connections; i++) {
      clients[i] = new Connection(target, workload, keyPrefix, i);
      Connection client = clients[i];
      threads[i] = new Thread(() -> client.run(ready, start), "load-" + i);
      threads[i].setDaemon(true);
      threads[i].start();
    }
    ready.await();
    long began = System.nanoTime();
    long deadline = began + duration.toNanos();
    for (Connection client : clients) {
      client.deadline = deadline;
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join(duration.toMillis() + 2L * SOCKET_TIMEOUT_MILLIS + 10_000);
    }
    double seconds = (System.nanoTime() - began) / 1e9;
    long requests = 0;
    long errors = 0;
    long unexpected = 0;
    int samples = 0;
    for (Connection client : clients) {
      requests += client.count;
      errors += client.errors;
      unexpected += client.unexpected;
      samples += client.count;
    }
    long[] latencies = new long[samples];
    int at = 0;
    for (Connection client : clients) {
      System.arraycopy(client.latencies, 0, latencies, at, client.count);
      at += client.count;
    }
    Arrays.sort(latencies);
    return new RunResult(requests, seconds, percentileMicros(latencies, 50),
        percentileMicros(latencies, 99), errors, unexpected);
  }

  @Override
  public String describe() {
    return "built-in Java load generator (" + connections + " connections)";
  }

  static double percentileMicros(long[] sortedNanos, double percentile) {
    if (sortedNanos.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.ceil(percentile / 100.0 * sortedNanos.length) - 1;
    return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, index))] / 1000.0;
  }

  /** One persistent connection and the thread that drives it. */
  private static final class Connection {
    private final URI target;
    private final String keyPrefix;
    private final byte[] fixedRequest;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    volatile long deadline;
    long[] latencies = new long[1 << 14];
    int count;
    long errors;
    long unexpected;
    private long sequence;

    Connection(URI target, Workload workload, String keyPrefix, int index) {
      this.target = target;
      this.keyPrefix = keyPrefix + "-" + index;
      this.fixedRequest = workload == Workload.UNIQUE
          ? null
          : request(workload == Workload.HIT ? Workload.hitKey(keyPrefix) : null);
    }

    void run(CountDownLatch ready, CountDownLatch start) {
      ready.countDown();
      try {
        start.await();
      } catch (InterruptedException e) {
        return;
      }
      while (System.nanoTime() < deadline) {
        try {
          if (socket == null) {
            connect();
          }
          byte[] request = fixedRequest != null
              ? fixedRequest
              : request(keyPrefix + "-" + sequence++);
          long sent = System.nanoTime();
          out.write(request);
          int status = readResponse(in);
          record(System.nanoTime() - sent);
          if (status < 200 || status > 299) {
            unexpected++;
          }
        } catch (IOException e) {
          errors++;
          close();
        }
      }
      close();
    }

    private void connect() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(SOCKET_TIMEOUT_MILLIS);
      socket.connect(new InetSocketAddress(target.getHost(), target.getPort()),
          SOCKET_TIMEOUT_MILLIS);
      in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
      out = socket.getOutputStream();
    }

    private void record(long nanos) {
      if (count == latencies.length) {
        latencies = Arrays.copyOf(latencies, count * 2);
      }
      latencies[count++] = nanos;
    }

    private byte[] request(String key) {
      byte[] body = HttpBench.BODY.getBytes(StandardCharsets.UTF_8);
      StringBuilder head = new StringBuilder(256)
          .append("POST ").append(target.getRawPath()).append(" HTTP/1.1\r\n")
          .append("Host: ").append(target.getHost()).append(':').append(target.getPort())
          .append("\r\n")
          .append("Content-Type: application/json\r\n")
          .append("Content-Length: ").append(body.length).append("\r\n");
      if (key != null) {
        head.append("Idempotency-Key: ").append(key).append("\r\n");
      }
      head.append("\r\n");
      byte[] headBytes = head.toString().getBytes(StandardCharsets.ISO_8859_1);
      byte[] request = Arrays.copyOf(headBytes, headBytes.length + body.length);
      System.arraycopy(body, 0, request, headBytes.length, body.length);
      return request;
    }

    private void close() {
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // the connection is being dropped anyway
        }
        socket = null;
      }
    }
  }

  /**
   * Reads one HTTP/1.1 response in full.
   *
   * @return its status
   * @throws IOException if the connection fails, or the response is not HTTP/1.1 or the server
   *     will close the connection (the caller reconnects)
   */
  static int readResponse(InputStream in) throws IOException {
    String statusLine = readLine(in);
    if (!statusLine.startsWith("HTTP/1.1 ") || statusLine.length() < 12) {
      throw new IOException("not an HTTP/1.1 response: " + statusLine);
    }
    int status = Integer.parseInt(statusLine.substring(9, 12));
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      if (name.equals("content-length")) {
        length = Long.parseLong(value);
      } else if (name.equals("transfer-encoding")) {
        chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
      } else if (name.equals("connection")) {
        close = value.equalsIgnoreCase("close");
      }
    }
    if (chunked) {
      for (long size = Long.parseLong(readLine(in).split(";")[0].trim(), 16); size > 0;
          size = Long.parseLong(readLine(in).split(";")[0].trim(), 16)) {
        skip(in, size);
        readLine(in);
      }
      while (!readLine(in).isEmpty()) {
        // trailers
      }
    } else if (length > 0) {
      skip(in, length);
    }
    if (close) {
      throw new IOException("the server closed the connection after status " + status);
    }
    return status;
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder(64);
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("the connection closed mid-response");
      }
      if (c != '\r') {
        line.append((char) c);
      }
    }
    return line.toString();
  }

  private static void skip(InputStream in, long bytes) throws IOException {
    for (long left = bytes; left > 0; ) {
      long skipped = in.skip(left);
      if (skipped <= 0) {
        if (in.read() < 0) {
          throw new EOFException("the connection closed mid-body");
        }
        skipped = 1;
      }
      left -= skipped;
    }
  }
}
