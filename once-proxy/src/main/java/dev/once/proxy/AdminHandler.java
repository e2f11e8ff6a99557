package dev.once.proxy;

import dev.once.Once;
import dev.once.Problem;
import dev.once.adapter.AdminRequests;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.util.URIUtil;
import org.jspecify.annotations.Nullable;

/**
 * The admin API, served only on the admin listener ({@code --admin-listen}): {@code GET
 * /_once/keys/{key}?scope=} describes the record of a client's key (200 JSON, 404 problem when
 * there is none), {@code DELETE /_once/keys/{key}?scope=&force=true} deletes it (204; 404; 409
 * when it is in progress and not forced). The key is percent-decoded from the path; one no request
 * could carry is a 400 problem. The scope is the one the proxy gives a request: empty without
 * {@code --scope-header}, else the hash it shows as a request's scope. With a token, every request
 * must carry {@code Authorization: Bearer TOKEN} (compared in constant time), else 401. Nothing is
 * forwarded upstream. Thread-safe.
 *
 * <p>The store calls block (each is bounded by the store's own timeout, but a store may stall for
 * that long or longer), so they run on {@value #CALL_THREADS} threads of this handler's, never on
 * the listener's: a request that finds them busy and {@value #CALL_QUEUE} more waiting is answered
 * 503 at once. However long the store stalls, the listener's threads stay free to answer.
 */
final class AdminHandler extends Handler.Abstract {
  static final String KEYS = "/_once/keys";
  private static final String PREFIX = KEYS + "/";

  /** The threads the store calls run on. */
  static final int CALL_THREADS = 2;
  /** How many requests may wait for one of them; beyond it a request gets 503. */
  static final int CALL_QUEUE = 8;

  private final Once once;
  private final byte @Nullable [] expected;
  private final ThreadPoolExecutor calls;

  /**
   * @param once the engine whose store holds the records
   * @param token the bearer token requests must carry, or null for none
   */
  AdminHandler(Once once, @Nullable String token) {
    this.once = once;
    this.expected = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    AtomicInteger threads = new AtomicInteger();
    this.calls = new ThreadPoolExecutor(CALL_THREADS, CALL_THREADS, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(CALL_QUEUE), task -> {
          Thread thread = new Thread(task, "once-proxy-admin-store #" + threads.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        }, new ThreadPoolExecutor.AbortPolicy());
    // an idle admin API holds no thread
    calls.allowCoreThreadTimeOut(true);
  }

  @Override
  protected void doStop() throws Exception {
    calls.shutdownNow();
    super.doStop();
  }

  /**
   * @param next the public listener's handler
   * @return a handler that answers the admin paths with a 404 problem, never passing them on
   */
  static Handler refusedOnThePublicListener(Handler next) {
    return new Handler.Wrapper(next) {
      @Override
      public boolean handle(Request request, Response response, Callback callback)
          throws Exception {
        if (!isAdminPath(request)) {
          return super.handle(request, response, callback);
        }
        ProblemErrorHandler.write(response, callback, Problem.of(404, "about:blank", "Not Found",
            KEYS + " is served only on the admin listener (--admin-listen)"));
        return true;
      }
    };
  }

  private static boolean isAdminPath(Request request) {
    String raw = request.getHttpURI().getPath();
    String decoded = request.getHttpURI().getDecodedPath();
    return isAdmin(raw) || (decoded != null && isAdmin(decoded));
  }

  private static boolean isAdmin(@Nullable String path) {
    return path != null && (path.equals(KEYS) || path.startsWith(PREFIX));
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    if (expected != null && !authorized(request)) {
      response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"once-proxy admin\"");
      ProblemErrorHandler.write(response, callback, Problem.of(401, "about:blank",
          "Unauthorized", "the admin API needs an Authorization: Bearer header with the"
              + " --admin-token"));
      return true;
    }
    String path = request.getHttpURI().getPath();
    if (path == null || !path.startsWith(PREFIX) || path.length() == PREFIX.length()
        || path.indexOf('/', PREFIX.length()) >= 0) {
      ProblemErrorHandler.write(response, callback, Problem.of(404, "about:blank", "Not Found",
          "the admin API serves GET and DELETE " + PREFIX + "{key}?scope="));
      return true;
    }
    String key;
    try {
      key = URIUtil.decodePath(path.substring(PREFIX.length()));
    } catch (RuntimeException e) {
      ProblemErrorHandler.write(response, callback, Problem.of(400, "about:blank",
          "Bad Request", "the key in the path is not validly percent-encoded"));
      return true;
    }
    Fields query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    String scope = query.getValue("scope");
    Supplier<AdminRequests.Answer> call;
    if (HttpMethod.GET.is(request.getMethod())) {
      call = () -> AdminRequests.inspect(once, scope, key);
    } else if (HttpMethod.DELETE.is(request.getMethod())) {
      boolean force = "true".equals(query.getValue("force"));
      call = () -> AdminRequests.delete(once, scope, key, force);
    } else {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, DELETE");
      ProblemErrorHandler.write(response, callback, Problem.of(405, "about:blank",
          "Method Not Allowed", PREFIX + "{key} answers GET and DELETE"));
      return true;
    }
    try {
      calls.execute(() -> {
        AdminRequests.Answer answer;
        try {
          answer = call.get();
        } catch (RuntimeException | Error e) {
          callback.failed(e);
          return;
        }
        answer(answer, response, callback);
      });
    } catch (RejectedExecutionException e) {
      ProblemErrorHandler.write(response, callback, Problem.of(503, "about:blank",
          "Service Unavailable", "the admin API is waiting on the store for as many requests as"
              + " it takes at once; retry later").withRetryAfter(1));
    }
    return true;
  }

  private static void answer(AdminRequests.Answer answer, Response response, Callback callback) {
    Problem problem = answer.problem();
    if (problem != null) {
      ProblemErrorHandler.write(response, callback, problem);
      return;
    }
    response.setStatus(answer.status());
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    String contentType = answer.contentType();
    if (contentType == null) {
      callback.succeeded();
      return;
    }
    byte[] body = (answer.toJson() + "\n").getBytes(StandardCharsets.UTF_8);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  private boolean authorized(Request request) {
    String given = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    return given != null
        && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected);
  }
}
