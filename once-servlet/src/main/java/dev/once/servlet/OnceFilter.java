package dev.once.servlet;

import dev.once.Decision;
import dev.once.Execution;
import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
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
import java.util.Set;
import java.util.TreeSet;

/**
 * Idempotency keys for any Jakarta Servlet 6 container (Tomcat, Jetty, Undertow, Spring MVC).
 *
 * <p>For each request of a covered method that carries a key, the filter asks the {@link Once}
 * engine what to do: run the rest of the chain once and store its response, replay the stored
 * response with {@code Idempotent-Replayed: true}, or answer an {@code application/problem+json}
 * error (400, 409, 413, 422, 503). Other requests pass through untouched.
 *
 * <p>The response is stored when it is really finished, and before the client can see its end:
 * when the body reaches its declared {@code Content-Length} or the output is closed, when the
 * chain returns, or for a request put in async mode, when the handler completes its async cycle.
 * So a client retrying the moment it has the whole response gets the replay, never a 409. A
 * handler exception, an async timeout or error, or a status that is not cacheable releases the
 * key, so the client's retry runs again. A handler that fails after committing without throwing
 * tells the filter with {@link #responseFailed}. The body is copied as it is written (through {@code getOutputStream} or {@code getWriter}), so
 * streaming, {@code flushBuffer} and early commit behave as without the filter.
 *
 * <p>Register it for the {@code REQUEST} dispatcher type with async support on; it lets other
 * dispatches (async, error, forward) of a request it handles pass. Thread-safe: one instance
 * serves all requests.
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
  /** The init parameter naming the servlet context attribute that holds the {@link Once}. */
  public static final String ONCE_ATTRIBUTE_PARAM = "once-attribute";

  private static final String EXECUTION_ATTRIBUTE = OnceFilter.class.getName() + ".execution";

  private volatile Once once;

  /**
   * A filter applying {@code once}.
   *
   * @param once the engine and its configuration
   * @throws NullPointerException if {@code once} is null
   */
  public OnceFilter(Once once) {
    this.once = Objects.requireNonNull(once, "once");
  }

  /**
   * A filter that takes its {@link Once} from a servlet context attribute when it is initialized,
   * for containers that create filters from {@code web.xml}.
   */
  public OnceFilter() {}

  @Override
  public void init(FilterConfig config) throws ServletException {
    if (once != null) {
      return;
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
    if (!(req instanceof HttpServletRequest)
        || !(res instanceof HttpServletResponse)
        || req.getDispatcherType() != DispatcherType.REQUEST
        || req.getAttribute(EXECUTION_ATTRIBUTE) != null
        || !engine.appliesTo(((HttpServletRequest) req).getMethod())) {
      chain.doFilter(req, res);
      return;
    }
    HttpServletResponse response = (HttpServletResponse) res;
    OnceServletRequest request = new OnceServletRequest((HttpServletRequest) req);
    Decision decision;
    try {
      decision = engine.decide(request);
    } catch (IOException e) {
      writeProblem(response, Problem.of(ProblemType.BODY_UNREADABLE,
          "the request body could not be read to the end: " + e.getMessage()));
      return;
    }
    switch (decision.kind()) {
      case EXECUTE:
        execute(engine, request, response, chain, decision.execution());
        break;
      case REPLAY:
        writeReplay(response, decision.response());
        break;
      case REJECT:
        writeProblem(response, decision.problem());
        break;
      case PASS_THROUGH:
      default:
        chain.doFilter(request.isBodyBuffered() ? request : req, res);
    }
  }

  private static void execute(Once engine, OnceServletRequest request,
      HttpServletResponse response, FilterChain chain, Execution execution)
      throws IOException, ServletException {
    KeyedExchange exchange = new KeyedExchange(execution, response, engine.maxResponseBytes());
    CapturingResponse capturing = exchange.response;
    request.setAttribute(EXECUTION_ATTRIBUTE, exchange);
    request.watchAsync(capturing, new AsyncCompletion(exchange), exchange.finish);
    try {
      chain.doFilter(request, capturing);
    } catch (IOException | ServletException | RuntimeException | Error e) {
      execution.release();
      throw e;
    }
    if (!request.watchAsyncIfStarted()) {
      exchange.complete();
    }
  }

  /**
   * Tells the filter that the response to {@code request}, a keyed request it is handling, broke
   * off after it was committed: the handler will not finish it (an upstream or the client closed
   * the connection midway, say). The incomplete response is not stored. If its status is
   * cacheable, the handler has answered, so running it again on a retry could do its work twice:
   * the record is kept without the response and a retry is told it was not kept (409 {@code
   * response-not-replayable}). Otherwise, or if the response was not committed, the key is
   * released so a retry runs again.
   *
   * <p>For handlers that fail after committing without throwing, such as a proxy servlet relaying
   * an upstream response. Thread-safe; only the first way a record is finished counts, so calling
   * this after the response was completed does nothing.
   *
   * @param request the request, or a wrapper of it
   * @return true if this call finished the record; false if the request has no key held by this
   *     filter, or its record was already finished
   */
  public static boolean responseFailed(ServletRequest request) {
    Object exchange = request.getAttribute(EXECUTION_ATTRIBUTE);
    return exchange instanceof KeyedExchange && ((KeyedExchange) exchange).fail();
  }

  private static void writeReplay(HttpServletResponse response, StoredResponse stored)
      throws IOException {
    response.setStatus(stored.status());
    Set<String> written = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (Header header : stored.headers()) {
      // the first value replaces what the container set already (its Server header, say)
      if (written.add(header.name())) {
        response.setHeader(header.name(), header.value());
      } else {
        response.addHeader(header.name(), header.value());
      }
    }
    response.setHeader(Once.REPLAYED_HEADER, "true");
    response.setContentLength(stored.bodyLength());
    if (stored.bodyLength() > 0) {
      stored.writeBodyTo(response.getOutputStream());
    }
  }

  /**
   * Writes {@code problem} as an {@code application/problem+json} response, unless the response is
   * already committed.
   *
   * @param response the response
   * @param problem the problem
   * @throws IOException if writing fails
   */
  static void writeProblem(HttpServletResponse response, Problem problem) throws IOException {
    if (response.isCommitted()) {
      return;
    }
    byte[] json = problem.toJsonBytes();
    response.setStatus(problem.status());
    response.setContentType(Problem.CONTENT_TYPE);
    response.setHeader("Cache-Control", "no-store");
    if (problem.retryAfterSeconds() > 0) {
      response.setHeader("Retry-After", Integer.toString(problem.retryAfterSeconds()));
    }
    response.setContentLength(json.length);
    response.getOutputStream().write(json);
  }

  /**
   * A keyed request being handled: its execution and the response that is being captured. The
   * record is finished by whichever comes first: the response's end seen by the capture, the async
   * cycle's {@code complete()}, the chain returning, or a failure.
   */
  private static final class KeyedExchange {
    private final Execution execution;
    private final CapturingResponse response;
    /** {@link #complete}, for the capture and the async context: one object for both. */
    private final Runnable finish = this::complete;
    private volatile boolean completed;

    KeyedExchange(Execution execution, HttpServletResponse response, long maxResponseBytes) {
      this.execution = execution;
      this.response = new CapturingResponse(response, maxResponseBytes, finish);
    }

    void complete() {
      // the execution acts only once anyway; this spares copying the body again
      if (completed) {
        return;
      }
      completed = true;
      execution.complete(
          response.getStatus(), response.capturedHeaders(), response.capturedBody());
    }

    boolean fail() {
      if (!response.isCommitted()) {
        return execution.release();
      }
      return execution.complete(response.getStatus(), response.capturedHeaders(), null);
    }
  }

  /** Finishes the execution of a request in async mode when its async cycle ends. */
  private static final class AsyncCompletion implements AsyncListener {
    private final KeyedExchange exchange;

    AsyncCompletion(KeyedExchange exchange) {
      this.exchange = exchange;
    }

    @Override
    public void onComplete(AsyncEvent event) {
      exchange.complete();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
      exchange.execution.release();
    }

    @Override
    public void onError(AsyncEvent event) {
      exchange.execution.release();
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
      // a new async cycle drops its listeners unless they add themselves again
      event.getAsyncContext().addListener(this);
    }
  }
}
