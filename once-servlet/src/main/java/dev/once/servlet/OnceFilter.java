package dev.once.servlet;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.Once;
import dev.once.Outcome;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.StoredResponse;
import dev.once.adapter.ReplayHeaders;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Idempotency keys for any Jakarta Servlet 6 container (Tomcat, Jetty, Undertow, Spring MVC).
 *
 * <p>For each request of a covered method that carries a key, the filter asks the {@link Once}
 * engine what to do: run the rest of the chain once and store its response, replay the stored
 * response with {@code Idempotent-Replayed: true}, or answer an {@code application/problem+json}
 * error (400, 408, 409, 413, 422, 502, 503). Other requests pass through untouched.
 *
 * <p>The filter decides nothing about a record's end: it reports what happens to the request to
 * the engine's {@link Exchange}, which finishes the record. What it reports: the body reached its
 * declared {@code Content-Length} or the output was closed (reported before those last bytes are
 * passed on, so a client retrying the moment it has the whole response gets the replay, never a
 * 409); the chain returned; the handler completed its async cycle; the handler failed before or
 * after committing; the client hung up (a write to it failed: the handler goes on, unaware, and its
 * whole answer is stored for the retry). The body is copied as it is written (through {@code
 * getOutputStream} or {@code getWriter}), so streaming, {@code flushBuffer} and early commit behave
 * as without the filter.
 *
 * <p>A duplicate of a request in flight that may wait ({@code maxWait}, or less if it sent {@code
 * Prefer: wait=N}) is put in async mode and parked with no thread held; when the first request
 * finishes (or the wait runs out) its answer is written from a container thread. Hundreds of such
 * duplicates cost no threads.
 *
 * <p>A keyed request's body is read (up to {@code maxBodyBytes}) to fingerprint it before the key
 * is claimed, within the engine's {@code bodyTimeout}; a body that does not arrive in time is
 * answered 408 ({@code request-body-timeout}) and takes no key. How it is read is the filter's
 * {@link BodyReading}:
 *
 * <ul>
 *   <li>{@link BodyReading#BLOCKING} (the default): on the request's thread, as a servlet reads.
 *       The container bounds each read by its idle timeout (Jetty's connector {@code idleTimeout},
 *       30 seconds by default; Tomcat's {@code connectionTimeout}, 60 seconds unless set, 20 in the
 *       shipped {@code server.xml}), not the whole body: a client that sends a byte just within
 *       each idle timeout holds the thread for as long as it likes. The filter bounds the whole
 *       body by {@code bodyTimeout}, looking at the time whenever a read returns (a blocking read
 *       cannot be interrupted); a client that sends nothing at all is held until the idle timeout
 *       ends the read, which also gets 408. Either way the thread is held while the client sends.
 *   <li>{@link BodyReading#NON_BLOCKING}: with the Servlet API's non-blocking reads, before the
 *       claim, so a slow client holds no thread, and 408 comes at the deadline. The request is put
 *       in async mode while its body arrives, then dispatched again ({@link
 *       jakarta.servlet.AsyncContext#dispatch()}): the filter must be registered for the {@code
 *       ASYNC} dispatcher type as well as {@code REQUEST}, with async support on (it falls back to
 *       a blocking read for a request that does not support async), and the rest of the chain runs
 *       in that {@code ASYNC} dispatch, so every filter after this one must be registered for
 *       {@code ASYNC} too. Registered for {@code REQUEST} only, the filter is skipped by that
 *       dispatch and the handler gets a request no key was claimed for; it fails closed: that
 *       request's body, parameters and parts cannot be had ({@link IllegalStateException} saying
 *       so). {@code once-proxy} reads this way.
 * </ul>
 *
 * <p>Register it for the {@code REQUEST} dispatcher type (and {@code ASYNC} for non-blocking body
 * reading) with async support on; it lets other dispatches (async, error, forward) of a request it
 * handles pass. Thread-safe: one instance serves all requests.
 *
 * <pre>{@code
 * Once once = Once.builder(MemoryStore.create()).ttl(Duration.ofHours(1)).build();
 * FilterRegistration.Dynamic registration = servletContext.addFilter("once", new OnceFilter(once));
 * registration.setAsyncSupported(true);
 * registration.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, "/payments/*");
 * }</pre>
 */
public final class OnceFilter implements Filter {
  /**
   * The servlet context attribute a filter made with the no-argument constructor (as from {@code
   * web.xml}) takes its {@link Once} from, unless the init parameter {@value #ONCE_ATTRIBUTE_PARAM}
   * names another.
   */
  public static final String DEFAULT_ONCE_ATTRIBUTE = Once.class.getName();
  /**
   * The request attribute the filter sets, when the engine has decided a request it covers, to the
   * {@link Outcome} (for a duplicate that waited, the one its wait ended in): for an access log,
   * which reads it when the request ends.
   */
  public static final String OUTCOME_ATTRIBUTE = Outcome.class.getName();
  /**
   * The request attribute by which a layer of the server in front of the filter hands it a
   * decision it already made for the request with the same engine (a server's own non-servlet
   * handler that read the body without blocking and called {@link Once#decideAsync}): a {@link
   * Decision.Execute} or a {@link Decision.PassThrough}, which the filter then acts on instead of
   * deciding again: it runs the chain, and reports the execution's events to its exchange. That
   * layer writes every other decision itself, and keeps the request's body readable for the
   * chain. Only the server's code sets request attributes; a client cannot. The filter takes the
   * attribute off the request.
   */
  public static final String DECISION_ATTRIBUTE = Decision.class.getName();
  /** The init parameter naming the servlet context attribute that holds the {@link Once}. */
  public static final String ONCE_ATTRIBUTE_PARAM = "once-attribute";
  /**
   * The init parameter choosing how a filter made with the no-argument constructor reads keyed
   * bodies: {@code blocking} (the default) or {@code non-blocking} (see {@link BodyReading}).
   */
  public static final String BODY_READING_PARAM = "body-reading";

  private static final String KEYED_ATTRIBUTE = OnceFilter.class.getName() + ".exchange";

  /** How the filter reads a keyed request's body before it claims the key. */
  public enum BodyReading {
    /**
     * On the request's thread, with blocking reads: each read bounded by the container's idle
     * timeout, the whole body by {@code bodyTimeout} whenever a read returns.
     */
    BLOCKING,
    /**
     * With the Servlet API's non-blocking reads: no thread is held while the body arrives, and a
     * body not there by {@code bodyTimeout} is answered 408 at that moment. The rest of the chain
     * runs in an {@code ASYNC} dispatch; register the filter (and those after it) for {@code
     * ASYNC} too.
     */
    NON_BLOCKING
  }

  private volatile @Nullable Once once;
  private volatile @Nullable BodyReading bodyReading;

  /**
   * A filter applying {@code once}, reading keyed bodies blocking.
   *
   * @param once the engine and its configuration
   * @throws NullPointerException if {@code once} is null
   */
  public OnceFilter(Once once) {
    this(once, BodyReading.BLOCKING);
  }

  /**
   * A filter applying {@code once}, reading keyed bodies as {@code bodyReading} says.
   *
   * @param once the engine and its configuration
   * @param bodyReading how keyed request bodies are read
   * @throws NullPointerException if an argument is null
   */
  public OnceFilter(Once once, BodyReading bodyReading) {
    this.once = Objects.requireNonNull(once, "once");
    this.bodyReading = Objects.requireNonNull(bodyReading, "bodyReading");
  }

  /**
   * A filter that takes its {@link Once} from a servlet context attribute when it is initialized,
   * for containers that create filters from {@code web.xml}; the init parameter {@value
   * #BODY_READING_PARAM} chooses how it reads bodies.
   */
  public OnceFilter() {}

  @Override
  public void init(FilterConfig config) throws ServletException {
    if (once != null) {
      return;
    }
    String reading = config.getInitParameter(BODY_READING_PARAM);
    if (reading == null || reading.isBlank() || reading.trim().equals("blocking")) {
      bodyReading = BodyReading.BLOCKING;
    } else if (reading.trim().equals("non-blocking")) {
      bodyReading = BodyReading.NON_BLOCKING;
    } else {
      throw new ServletException("OnceFilter's init parameter " + BODY_READING_PARAM
          + " must be blocking or non-blocking, but was \"" + reading + "\"");
    }
    String param = config.getInitParameter(ONCE_ATTRIBUTE_PARAM);
    String attribute = param == null ? DEFAULT_ONCE_ATTRIBUTE : param;
    Object value = config.getServletContext().getAttribute(attribute);
    if (!(value instanceof Once)) {
      throw new ServletException("OnceFilter needs a dev.once.Once in the servlet context"
          + " attribute \"" + attribute + "\", but it holds " + value);
    }
    once = (Once) value;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    Once engine = once;
    if (engine == null) {
      throw new ServletException("OnceFilter was not initialized with a dev.once.Once");
    }
    Object bodyRead = req.getDispatcherType() == DispatcherType.ASYNC
        && req.getAttribute(KEYED_ATTRIBUTE) == null ? BodyReader.takeOutcome(req) : null;
    if (bodyRead != null) {
      req = BodyReader.decided(req);
    }
    if (!(req instanceof HttpServletRequest)
        || !(res instanceof HttpServletResponse)
        || (req.getDispatcherType() != DispatcherType.REQUEST && bodyRead == null)
        || req.getAttribute(KEYED_ATTRIBUTE) != null
        || !engine.appliesTo(((HttpServletRequest) req).getMethod())) {
      chain.doFilter(req, res);
      return;
    }
    HttpServletResponse response = (HttpServletResponse) res;
    OnceServletRequest request = bodyRead == null
        ? new OnceServletRequest((HttpServletRequest) req, engine)
        : new OnceServletRequest((HttpServletRequest) req, engine, bodyRead);
    Decision decision = handedOver(req);
    if (decision == null) {
      if (bodyRead == null && readsWithoutBlocking(engine, request)) {
        // the filter is called again, in an ASYNC dispatch, when the body is read
        BodyReader.start((HttpServletRequest) req, res, engine);
        return;
      }
      try {
        decision = engine.decide(request);
      } catch (IOException e) {
        ProblemResponse.write(response, Problem.of(ProblemType.BODY_UNREADABLE,
            "the request body could not be read to the end"));
        return;
      }
    }
    if (!(decision instanceof Decision.Wait)) {
      req.setAttribute(OUTCOME_ATTRIBUTE, Decision.outcomeOf(decision));
    }
    if (decision instanceof Decision.Execute execute) {
      execute(engine, request, response, chain, execute.exchange());
    } else if (decision instanceof Decision.Replay replay) {
      writeReplay(response, replay.response());
    } else if (decision instanceof Decision.Reject reject) {
      closeIfBodyUnread(request, response);
      ProblemResponse.write(response, reject.problem());
    } else if (decision instanceof Decision.Wait wait) {
      park(engine, request, response, wait.next());
    } else {
      chain.doFilter(request.isBodyBuffered() ? request : req, res);
    }
  }

  /**
   * @return the decision a layer in front of the filter made ({@link #DECISION_ATTRIBUTE}), taken
   *     off the request, or null if there is none
   */
  private static @Nullable Decision handedOver(ServletRequest request) {
    Object handed = request.getAttribute(DECISION_ATTRIBUTE);
    if (handed == null) {
      return null;
    }
    request.removeAttribute(DECISION_ATTRIBUTE);
    return handed instanceof Decision.Execute || handed instanceof Decision.PassThrough
        ? (Decision) handed
        : null;
  }

  /**
   * Asks the container to close the connection after a refusal that leaves the request's body
   * unread (an invalid key, a body declared too long). The container cannot reuse the connection
   * until it has read past that body, which it may give up on after the answer went out without
   * {@code Connection: close}; a client that sent its next request on it would then get no answer
   * at all. (HTTP/2 has no such header; its containers drop it.)
   */
  private static void closeIfBodyUnread(OnceServletRequest request,
      HttpServletResponse response) {
    if (!request.isBodyBuffered() && !response.isCommitted()
        && (request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null)) {
      response.setHeader("Connection", "close");
    }
  }

  /**
   * @return true if this request's body is to be read with non-blocking reads before the engine
   *     decides: the filter reads so, the engine will read this body, and there is a body the
   *     engine would read (one declared longer than the limit is refused unread)
   */
  private boolean readsWithoutBlocking(Once engine, OnceServletRequest request) {
    if (bodyReading != BodyReading.NON_BLOCKING || !request.isAsyncSupported()
        || !engine.readsBody(request)) {
      return false;
    }
    long declared = request.getContentLengthLong();
    return declared != 0 && declared <= engine.maxBodyBytes();
  }

  private static void execute(Once engine, OnceServletRequest request,
      HttpServletResponse response, FilterChain chain, Exchange exchange)
      throws IOException, ServletException {
    CapturingResponse capturing =
        new CapturingResponse(response, engine.maxResponseBytes(), exchange);
    request.setAttribute(KEYED_ATTRIBUTE, capturing);
    request.watchAsync(capturing, new AsyncEvents(capturing));
    try {
      chain.doFilter(request, capturing);
    } catch (IOException | ServletException | RuntimeException | Error e) {
      // finished before the container answers the failure, so a retry after it never gets 409
      Completion completion = completion(capturing.isCommitted()
          ? exchange.failedAfterCommit(e, capturing)
          : exchange.failedBeforeCommit(e));
      if (completion == Completion.WORK_UNDONE) {
        undone(response, e);
        return;
      }
      throw e;
    }
    if (!request.watchAsyncIfStarted()
        && completion(exchange.handlerReturned(capturing)) == Completion.WORK_UNDONE) {
      undone(response, null);
    }
  }

  /**
   * The store could not commit the record with the handler's work, and undid both: the client
   * must not take the handler's answer for a success. Unsent, it is replaced by 503; partly sent,
   * it is broken off (the filter throws, and the container aborts the response).
   */
  private static void undone(HttpServletResponse response, @Nullable Throwable failure)
      throws IOException {
    if (response.isCommitted()) {
      IOException broken = new IOException("the request's work could not be committed and was"
          + " undone after its response was committed; the response is broken off");
      if (failure != null) {
        broken.addSuppressed(failure);
      }
      throw broken;
    }
    response.reset();
    ProblemResponse.write(response, Problem.of(ProblemType.STORE_UNAVAILABLE, "the request's work"
        + " could not be committed and was undone; nothing of it was kept, so send it again")
        .withRetryAfter(1));
  }

  /**
   * Parks a duplicate that waits for the request in flight: the request goes async, no thread is
   * held, and its answer is written from a container thread when the wait ends.
   */
  private static void park(Once engine, OnceServletRequest request, HttpServletResponse response,
      CompletionStage<Decision> wait) throws IOException {
    CompletionStage<Decision> next = wait.thenApply(answer -> {
      request.setAttribute(OUTCOME_ATTRIBUTE, Decision.outcomeOf(answer));
      return answer;
    });
    if (!request.isAsyncSupported()) {
      // registered without async support: the wait holds this thread, as a blocking one would
      writeAnswer(response, next.toCompletableFuture().join());
      return;
    }
    AsyncContext async = request.getRequest().startAsync(request.getRequest(), response);
    ParkedRequest parked = new ParkedRequest(async, engine);
    async.addListener(parked);
    // the engine ends every wait by maxWait; the container's own timeout is only a safety net
    long safety = engine.maxWait().toMillis() + 30_000;
    async.setTimeout(safety < 0 ? 0 : safety);
    next.whenComplete(parked);
  }

  /** Sends what a wait ended in: a {@link Decision.Replay} or a {@link Decision.Reject}. */
  static void writeAnswer(HttpServletResponse response, Decision answer) throws IOException {
    if (answer instanceof Decision.Replay replay) {
      writeReplay(response, replay.response());
    } else {
      ProblemResponse.write(response, ((Decision.Reject) answer).problem());
    }
  }

  /**
   * Tells the filter that the response to {@code request}, a keyed request it is handling, broke
   * off: the handler will not finish it (an upstream or the client closed the connection midway,
   * say). The incomplete response is never stored. If it was committed with a cacheable status,
   * the handler has answered, so running it again on a retry could do its work twice: the record
   * is kept without the response and a retry is told it was not kept (409 {@code
   * response-not-replayable}). Otherwise the key is released so a retry runs again.
   *
   * <p>For handlers that fail without throwing, such as a proxy servlet relaying an upstream
   * response. Thread-safe; only the first event that finishes a record counts, so calling this
   * after the response was completed does nothing. It returns once the record is finished.
   *
   * @param request the request, or a wrapper of it
   * @return true if the request is a keyed request this filter is handling
   */
  public static boolean responseFailed(ServletRequest request) {
    Object attribute = request.getAttribute(KEYED_ATTRIBUTE);
    if (!(attribute instanceof CapturingResponse)) {
      return false;
    }
    CapturingResponse capturing = (CapturingResponse) attribute;
    Exchange exchange = capturing.exchange();
    await(capturing.isCommitted()
        ? exchange.failedAfterCommit(null, capturing)
        : exchange.failedBeforeCommit(null));
    return true;
  }

  /**
   * The exchange of a keyed request this filter is handling, for handlers that report events of
   * their own to it (a proxy: the upstream was silent, answered late, never had the request, or
   * broke off with its outcome unknown).
   *
   * @param request the request, or a wrapper of it
   * @return the exchange, or null if the request has no key held by this filter
   */
  public static @Nullable Exchange exchange(ServletRequest request) {
    Object attribute = request.getAttribute(KEYED_ATTRIBUTE);
    return attribute instanceof CapturingResponse ? ((CapturingResponse) attribute).exchange()
        : null;
  }

  /** Waits for the record to be finished; the engine's stage never fails. */
  static void await(CompletionStage<?> finished) {
    finished.toCompletableFuture().join();
  }

  /**
   * Waits for the record to be finished.
   *
   * @return what became of it, or null if the event finished nothing
   */
  static @Nullable Completion completion(CompletionStage<Completion> finished) {
    return finished.toCompletableFuture().join();
  }

  static void writeReplay(HttpServletResponse response, StoredResponse stored)
      throws IOException {
    response.setStatus(stored.status());
    ReplayHeaders.write(stored, response::setHeader, response::addHeader);
    // the stored Date is not kept: a replay is a response of now (RFC 9110, 6.6.1)
    response.setDateHeader("Date", System.currentTimeMillis());
    response.setContentLength(stored.bodyLength());
    if (stored.bodyLength() > 0) {
      stored.writeBodyTo(response.getOutputStream());
    }
  }
}
