package dev.once.proxy;

import dev.once.Completion;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.StoredResponse.Header;
import dev.once.UnknownOutcome;
import dev.once.adapter.ResponseCapture;
import dev.once.config.ConfigText;
import java.io.IOException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.thread.Scheduler;
import org.eclipse.jetty.util.thread.SerializedInvoker;
import org.jspecify.annotations.Nullable;

/**
 * One keyed request at the upstream, from the moment it is sent until its record is finished: the
 * proxy's side of the engine's {@link Exchange}. It relays the upstream's response to the client
 * (non-blocking both ways) while copying it, up to {@code maxResponseBytes}, and reports to the
 * exchange what happened; the exchange decides what becomes of the record. It never aborts the
 * upstream because of the client: a client that stops waiting (answered 504, or hung up) leaves
 * the upstream exchange running, up to {@code --upstream-deadline}, so its answer is stored for the
 * retry.
 *
 * <p>Design. Jetty's HTTP client (the head, each part of the body, the end), the client's side
 * (the client can be written to, the client failed: a {@link Client}, the servlet container's
 * response or Jetty core's, so one state machine serves both lanes) and one timer call it on their
 * own threads; every call is run by one {@link SerializedInvoker}, so the state is only ever
 * touched by one thread at a time and nothing is called out under a lock. The client's side is in
 * one of five states:
 *
 * <table>
 *   <caption>The client's side of a keyed call</caption>
 *   <tr><th>state</th><th>what it means</th><th>what moves it on</th></tr>
 *   <tr><td>WAITING</td><td>the client waits for the upstream's status line</td><td>the head
 *       arrives: relayed, STREAMING; silence past {@code --upstream-timeout}: {@code
 *       upstreamSilent}, 504, ANSWERED; the upstream fails: {@code upstreamUnreachable} (nothing
 *       was sent) or {@code outcomeUnknown} (it was), then 502, DONE</td></tr>
 *   <tr><td>STREAMING</td><td>the head was relayed; the body is streamed and copied</td><td>the
 *       body's end: {@code bodyEnded}, reported before the client can have the last bytes, so a
 *       retry sent the moment it has them is replayed; DONE. A failure or silence mid-body: {@code
 *       failedAfterCommit} (a cacheable status keeps the record without its body), the client's
 *       response cut (or a problem, if none of it was sent yet), DONE</td></tr>
 *   <tr><td>ANSWERED</td><td>the client got 504; the upstream is listened to</td><td rowspan="2">
 *       the upstream's whole answer: {@code upstreamAnsweredLate}; its status then a failure, or
 *       the copy over the limit: {@code upstreamAnsweredLate} without a body (a cacheable status
 *       keeps the record, not replayable); a failure before its status, or {@code
 *       --upstream-deadline} with none: {@code outcomeUnknown} ({@code upstreamUnreachable} if
 *       nothing was sent); DONE</td></tr>
 *   <tr><td>GONE</td><td>the client hung up ({@code clientDetached}); the upstream is listened
 *       to</td></tr>
 *   <tr><td>DONE</td><td>the record is finished or being finished; the client's side has
 *       ended</td><td>nothing: later events are ignored</td></tr>
 * </table>
 *
 * <p>Silence is measured only while the proxy waits for the upstream (a slow client is the
 * connector's idle timeout's business, not the upstream's). The exchange holds the key and renews
 * its lease all along; this call holds the exchange, and Jetty's client holds this call until the
 * upstream exchange ends.
 */
final class KeyedCall implements Response.Listener {
  private enum Side { WAITING, STREAMING, ANSWERED, GONE, DONE }

  private final Client client;
  private final Exchange exchange;
  private final Once once;
  private final Scheduler scheduler;
  private final Duration timeout;
  private final Duration deadline;
  private final ResponseCapture capture;
  private final SerializedInvoker invoker = new SerializedInvoker(KeyedCall.class);

  /**
   * Set when the request starts to be written on a connection to the upstream: from then on the
   * upstream may have it (set before the bytes leave, so a failure racing the write's own
   * completion is never taken for a request that was not sent).
   */
  private volatile boolean delivered;
  private @Nullable Request request;

  private Side side = Side.WAITING;
  private @Nullable Response head;
  /** The head's headers: read only once the head has come. */
  private List<Header> headHeaders = List.of();
  private long declaredLength = -1;
  private boolean upstreamEnded;
  private boolean endReported;
  private boolean endKept;
  private boolean silenceAbort;
  private Content.@Nullable Chunk pending;
  private @Nullable Runnable pendingDemand;
  private boolean awaiting;
  private long awaitingSince;
  private Scheduler.@Nullable Task timer;

  /** When the request was sent to the upstream, by the engine's clock. */
  private long sentAt;

  /**
   * @param client the client's side: the servlet's response or the core's
   * @param exchange the key's exchange, which this call reports to
   */
  KeyedCall(Client client, Exchange exchange, Once once, Scheduler scheduler, Duration timeout,
      Duration deadline) {
    this.client = client;
    this.exchange = exchange;
    this.once = once;
    this.scheduler = scheduler;
    this.timeout = timeout;
    this.deadline = deadline;
    this.capture = new ResponseCapture(once.maxResponseBytes());
  }

  /** Sends the request; from here on every event of it is this call's. */
  void send(Request proxyRequest) {
    request = proxyRequest;
    sentAt = once.nanoTime();
    client.listen(this);
    proxyRequest.onRequestBegin(sending -> delivered = true);
    // the timers below bound silence and the deadline; Jetty's own idle timeout only as a net
    proxyRequest.idleTimeout(saturatedMillis(timeout.plus(deadline).plusMinutes(1)),
        TimeUnit.MILLISECONDS);
    invoker.run(() -> {
      awaitUpstream();
      schedule(timeout.toNanos(), this::checkSilence);
    });
    proxyRequest.send(this);
  }

  @Override
  public void onHeaders(Response response) {
    invoker.run(() -> headers(response));
  }

  @Override
  public void onContent(Response response, Content.Chunk chunk, Runnable demander) {
    // kept past this call: it may wait its turn, or for the client
    Content.Chunk kept;
    if (chunk.canRetain()) {
      chunk.retain();
      kept = chunk;
    } else {
      ByteBuffer copy = ByteBuffer.allocate(chunk.remaining());
      copy.put(chunk.getByteBuffer().duplicate()).flip();
      kept = Content.Chunk.from(copy, chunk.isLast());
    }
    invoker.run(() -> content(kept, demander));
  }

  @Override
  public void onComplete(Result result) {
    invoker.run(() -> ended(result));
  }

  /** The client can take more: what is pending is written. */
  void writePossible() {
    invoker.run(this::pump);
  }

  /** The client's request was ended by the server before the upstream's answer was relayed. */
  void clientEnded() {
    invoker.run(() -> {
      if (side == Side.WAITING || side == Side.STREAMING) {
        clientFailed();
      }
    });
  }

  private void headers(Response response) {
    head = response;
    // a client gone has had its access log line: its request is recycled and takes nothing more
    client.upstreamAnswered(once.nanoTime() - sentAt, side == Side.WAITING);
    headHeaders = new ArrayList<>();
    for (HttpField field : response.getHeaders()) {
      headHeaders.add(new Header(field.getName(), field.getValue()));
    }
    declaredLength = response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
    awaitUpstream();
    if (side == Side.WAITING) {
      side = Side.STREAMING;
      client.head(response);
    }
  }

  private void content(Content.Chunk chunk, Runnable demander) {
    awaiting = false;
    capture.write(chunk.getByteBuffer());
    switch (side) {
      case STREAMING:
        pending = chunk;
        pendingDemand = demander;
        if (!endReported && declaredLength >= 0 && capture.total() >= declaredLength) {
          // these bytes end the response: the record is finished before the client has them
          reportEnd();
        } else {
          pump();
        }
        return;
      case ANSWERED:
      case GONE:
        chunk.release();
        if (capture.isOverflowed()) {
          // no answer to keep but its status: finish now rather than read the rest for nothing
          finish();
          exchange.upstreamAnsweredLate(response(null));
          abort(new IOException("the upstream's answer is over --max-response and its"
              + " client is no longer waiting for it"));
        } else {
          demand(demander);
        }
        return;
      default:
        chunk.release();
    }
  }

  /** Writes what is pending to the client as far as it can take it, then asks for more. */
  private void pump() {
    if (side != Side.STREAMING || (endReported && !endKept)) {
      return;
    }
    try {
      if (!client.isReady()) {
        return; // writePossible pumps again
      }
      Content.Chunk chunk = pending;
      if (chunk != null) {
        if (chunk.getByteBuffer().hasRemaining()) {
          // what the upstream streams reaches the client as it comes, not when a buffer fills
          // once the record has the end, these are the response's last bytes
          client.write(chunk, !endReported, endReported);
        }
        chunk.release();
        pending = null;
        Runnable demand = pendingDemand;
        pendingDemand = null;
        if (!upstreamEnded) {
          demand(Objects.requireNonNull(demand, "a pending chunk has its demand"));
          return;
        }
        if (!client.isReady()) {
          return; // the end once that write is done
        }
      }
    } catch (IOException | IllegalStateException e) {
      clientFailed();
      return;
    }
    if (upstreamEnded && endKept) {
      finish();
      completeClient();
    }
  }

  /** The response's body ended: the record is finished first, then the client has the end. */
  private void reportEnd() {
    endReported = true;
    Exchange.Response whole = response(capture.bytes());
    clientSide(exchange.bodyEnded(whole), whole)
        .whenComplete((completion, error) -> invoker.run(() -> {
          endKept = true;
          pump();
        }));
  }

  /**
   * The stage of an event of the client's side, or, if the exchange ignored it because the client
   * was detached meanwhile (the container reports a failure on its own thread, and detaches the
   * exchange there at once), the same answer reported as the upstream's, which is not ignored.
   */
  private CompletionStage<Completion> clientSide(CompletionStage<Completion> reported,
      Exchange.Response answer) {
    return reported.thenCompose(completion -> completion == null && exchange.isDetached()
        ? exchange.upstreamAnsweredLate(answer)
        : CompletableFuture.completedFuture(completion));
  }

  private void ended(Result result) {
    if (side == Side.DONE) {
      releasePending();
      return;
    }
    boolean whole = head != null && (result.getResponseFailure() == null
        || (declaredLength >= 0 && capture.total() >= declaredLength));
    if (whole) {
      upstreamEnded = true;
      if (side == Side.STREAMING) {
        if (endReported) {
          pump();
        } else {
          reportEnd();
        }
      } else {
        finish();
        exchange.upstreamAnsweredLate(response(capture.bytes()));
      }
      return;
    }
    Throwable failure = result.getFailure();
    releasePending();
    Side was = side;
    finish();
    if (head == null) {
      boolean sent = delivered && !isUnreachable(failure);
      CompletionStage<Completion> finished = sent
          ? exchange.outcomeUnknown(failure)
          : exchange.upstreamUnreachable(failure);
      if (was == Side.WAITING) {
        Problem problem = sent ? outcomeUnknown() : unreachable(failure);
        // the record first: a retry sent the moment the client has the answer finds it finished
        finished.whenComplete((completion, error) -> invoker.run(() -> answer(problem)));
      }
      return;
    }
    if (was == Side.STREAMING) {
      boolean cut = client.isCommitted();
      Problem problem = silenceAbort ? silentMidBody() : brokeOff();
      clientSide(exchange.failedAfterCommit(failure, response(null)), response(null))
          .whenComplete((completion, error) -> invoker.run(() -> {
            if (cut) {
              client.cut();
            } else {
              answer(problem);
            }
          }));
    } else {
      exchange.upstreamAnsweredLate(response(null));
    }
  }

  private void checkSilence() {
    if (side != Side.WAITING && side != Side.STREAMING) {
      return; // the client is no longer waiting: only the deadline counts now
    }
    long wait = timeout.toNanos();
    if (awaiting) {
      long left = awaitingSince + wait - once.nanoTime();
      if (left <= 0) {
        silent();
        return;
      }
      wait = left;
    }
    schedule(wait, this::checkSilence);
  }

  private void silent() {
    if (side == Side.WAITING) {
      // held, renewed, and listened to: the answer the upstream gives later is the retry's
      exchange.upstreamSilent();
      side = Side.ANSWERED;
      answer(Problem.of(504, UpstreamServlet.UPSTREAM_TIMEOUT, "Upstream timed out",
          "the upstream sent nothing for " + ConfigText.format(timeout) + "; the proxy goes on"
              + " listening to it for up to " + ConfigText.format(deadline) + " and keeps its"
              + " answer for a retry with the same " + once.header()
              + ", which gets 409 (or waits) until then"));
      schedule(deadline.toNanos(), this::deadlinePassed);
    } else {
      silenceAbort = true;
      abort(new TimeoutException("the upstream sent nothing for "
          + ConfigText.format(timeout) + " in the middle of its response"));
    }
  }

  private void deadlinePassed() {
    if (side == Side.ANSWERED || side == Side.GONE) {
      abort(new TimeoutException("the upstream did not answer within --upstream-deadline "
          + ConfigText.format(deadline)));
    }
  }

  /**
   * The client's side says the client failed (the servlet container, or Jetty's core). Detached
   * now, not when the invoker gets to it: the server ends the request next, and its end must not
   * count as the record's.
   */
  void clientLost() {
    exchange.clientDetached();
    invoker.run(this::clientFailed);
  }

  /** The client hung up, or the server ended its request: the upstream goes on for the retry. */
  private void clientFailed() {
    if (side != Side.WAITING && side != Side.STREAMING) {
      return;
    }
    exchange.clientDetached();
    side = Side.GONE;
    Runnable demand = pendingDemand;
    releasePending();
    completeClient();
    if (endReported || upstreamEnded) {
      // the record has (or is being given) the whole answer, or the answer is whole here
      finish();
      if (!endReported) {
        exchange.upstreamAnsweredLate(response(capture.bytes()));
      } else if (!upstreamEnded) {
        abort(new IOException("the client hung up after the whole response was kept"));
      }
      return;
    }
    if (head != null && capture.isOverflowed()) {
      finish();
      exchange.upstreamAnsweredLate(response(null));
      abort(new IOException("the client hung up and the response is over --max-response"));
      return;
    }
    cancelTimer();
    schedule(deadline.toNanos(), this::deadlinePassed);
    if (demand != null) {
      demand(demand);
    }
  }

  /**
   * Answers the client with a problem (nothing of the upstream's response was sent) and ends it.
   */
  private void answer(Problem problem) {
    client.answer(problem);
  }

  private void demand(Runnable demander) {
    awaitUpstream();
    demander.run();
  }

  private void awaitUpstream() {
    awaiting = true;
    awaitingSince = once.nanoTime();
  }

  private void finish() {
    side = Side.DONE;
    cancelTimer();
  }

  private void completeClient() {
    client.complete();
  }

  private void releasePending() {
    if (pending != null) {
      pending.release();
      pending = null;
    }
    pendingDemand = null;
  }

  private void schedule(long delayNanos, Runnable check) {
    try {
      timer = scheduler.schedule(() -> invoker.run(check), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // the proxy is stopping: stopping its HTTP client ends this call
    }
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel();
      timer = null;
    }
  }

  /**
   * Aborts the request to the upstream. What abort returns (false if the request had ended
   * already) is not needed: either way it has ended.
   */
  private void abort(Throwable cause) {
    Request sent = Objects.requireNonNull(request, "events come only after send");
    CompletableFuture<Boolean> unused = sent.abort(cause);
  }

  /** @return the upstream's response head: the events that read it come only after it */
  private Response head() {
    return Objects.requireNonNull(head, "the upstream's head has come");
  }

  private Exchange.Response response(byte @Nullable [] body) {
    return Exchange.Response.of(head().getStatus(), headHeaders, body);
  }

  private Problem unreachable(Throwable failure) {
    String what = UpstreamServlet.causedBy(failure, java.net.ConnectException.class)
        ? "refused the connection"
        : isUnresolved(failure) ? "has a host name that does not resolve"
        : "could not be reached";
    return Problem.of(502, UpstreamServlet.UPSTREAM_UNAVAILABLE, "Upstream is unavailable",
        "the upstream " + what + "; it never had the request, so a retry runs it");
  }

  private Problem outcomeUnknown() {
    String after = once.unknownOutcome() == UnknownOutcome.KEEP
        ? "it will not be run again under this " + once.header()
        : "a retry with the same " + once.header() + " gets 409 until the key's lease ("
            + ConfigText.format(once.lease()) + ") has passed, then runs it again";
    return Problem.of(ProblemType.OUTCOME_UNKNOWN, "the connection to the upstream broke after"
        + " the request was sent and before it answered, so whether it was done is unknown; "
        + after);
  }

  private Problem brokeOff() {
    return Problem.of(502, UpstreamServlet.UPSTREAM_UNAVAILABLE, "Upstream is unavailable",
        "the upstream broke off its response (status " + head().getStatus() + ") before it was"
            + " whole; " + afterStatus());
  }

  private Problem silentMidBody() {
    return Problem.of(504, UpstreamServlet.UPSTREAM_TIMEOUT, "Upstream timed out",
        "the upstream sent its status (" + head().getStatus() + "), then nothing for "
            + ConfigText.format(timeout) + "; " + afterStatus());
  }

  private String afterStatus() {
    return once.isCacheable(head().getStatus())
        ? "it was done, so a retry with the same " + once.header() + " is told its response was"
            + " not kept and does not run it again"
        : "a retry runs it again";
  }

  private static boolean isUnreachable(Throwable failure) {
    return UpstreamServlet.causedBy(failure, java.net.ConnectException.class)
        || isUnresolved(failure);
  }

  private static boolean isUnresolved(Throwable failure) {
    return UpstreamServlet.causedBy(failure, UnresolvedAddressException.class)
        || UpstreamServlet.causedBy(failure, UnknownHostException.class);
  }

  private static long saturatedMillis(Duration duration) {
    try {
      return duration.toMillis();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * The client's side of a call: the response the upstream's answer is relayed to, a servlet's
   * ({@link KeyedUpstreamServlet}) or Jetty core's ({@link CoreClient}). The call calls it from
   * its invoker, one call at a time; the client's side calls back {@link #writePossible}, {@link
   * #clientLost} and {@link #clientEnded} from its own threads.
   */
  interface Client {
    /** From now on the client's events are {@code call}'s. */
    void listen(KeyedCall call);

    /**
     * The upstream's status line came, {@code nanos} after the request was sent.
     *
     * @param waiting whether the client still waits for it (its request not yet ended)
     */
    void upstreamAnswered(long nanos, boolean waiting);

    /** Relays the upstream's status and headers (hop-by-hop ones and its own replay mark not). */
    void head(Response upstream);

    /** @return whether the head went out to the client */
    boolean isCommitted();

    /**
     * @return whether a write can be made now; if not, {@link #writePossible} is called when it
     *     can (the first call may say not yet, and call it at once)
     * @throws IOException if the client is gone
     */
    boolean isReady() throws IOException;

    /**
     * Writes the chunk's bytes (the chunk stays the call's, released when this returns).
     *
     * @param flush whether they are to reach the client now rather than when a buffer fills
     * @param last whether they are the response's last: a client may end the response with them,
     *     and {@link #complete} then has nothing left to do
     * @throws IOException if the client is gone
     */
    void write(Content.Chunk chunk, boolean flush, boolean last) throws IOException;

    /**
     * Answers with {@code problem} in place of the upstream's response, of which nothing was sent
     * (or cuts the response off, if a write is still under way), and ends it; quietly, when the
     * client is gone.
     */
    void answer(Problem problem);

    /** Cuts off a response the client has part of, so it sees it was not whole, and ends it. */
    void cut();

    /** Ends the client's response (after a failure of the client, as failed); once. */
    void complete();
  }
}
