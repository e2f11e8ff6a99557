package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.KeyScope;
import dev.once.Once;
import dev.once.Stores;
import dev.once.nativelib.NativeProcess.Interactive;
import dev.once.servlet.OnceFilter;
import dev.once.spi.IdempotencyStore;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A C program and a Java service sharing records through a store that both open by one URL: the
 * C side is {@code once_cli} (libonce.so, from the layout {@code make c-shared} builds: libonce.jar
 * and the store modules in {@code libonce.d/}, no {@code ONCE_CLASSPATH}), the Java side a Jetty
 * server with {@link OnceFilter} over {@code Stores.open(url)} and {@link
 * KeyScope#global()}, so a store key is the {@code Idempotency-Key} itself. Each test interleaves
 * HTTP requests with C calls on keys of its own. Subclasses start the store's server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
abstract class AbstractSharingIT {
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  private final String run = UUID.randomUUID().toString().substring(0, 8);
  /** Runs of the handler, by key. */
  private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  /** Keys whose handler waits, once it has started, until the test lets it finish. */
  private final Map<String, CountDownLatch> held = new ConcurrentHashMap<>();
  private final Map<String, CountDownLatch> started = new ConcurrentHashMap<>();
  private IdempotencyStore store;
  private Server server;
  private int port;
  private Interactive cli;

  /**
   * @return the environment variable that, when set, names a server of the machine's own to use
   *     instead of starting one ({@code ONCE_TEST_REDIS_URL}, {@code ONCE_TEST_JDBC_URL})
   */
  protected abstract String externalStoreVariable();

  /** @return the URL of a started store server, as C's {@code ONCE_STORE} and Java open it */
  protected abstract String startStore() throws Exception;

  /** Stops what {@link #startStore()} started, if it was called. */
  protected abstract void stopStore() throws Exception;

  @BeforeAll
  void start() throws Exception {
    String url = System.getenv(externalStoreVariable());
    url = url == null || url.isBlank() ? startStore() : url.trim();
    store = Stores.open(url);
    startServer(Once.builder(store).keyScope(KeyScope.global()).build());
    cli = NativeProcess.start(Map.of("ONCE_STORE", url),
        List.of(NativeProcess.program("once_cli").toString()));
    assertThat(cli.readLine()).isEqualTo("ready");
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (cli != null) {
        cli.close();
      }
      if (server != null) {
        server.stop();
      }
      if (store != null) {
        store.close();
      }
    } finally {
      stopStore();
    }
  }

  @Test
  void aResponseTheJavaFilterStoredIsWhatCChecksAndLooksUp() throws Exception {
    String key = key("java-first");

    HttpResponse<String> first = post(key, "{\"amount\":100}");

    assertThat(first.statusCode()).isEqualTo(201);
    String body = "{\"charge\":1,\"key\":\"" + key + "\"}";
    assertThat(first.body()).isEqualTo(body);
    assertThat(cli.send("check " + key)).isEqualTo("201 " + body);
    assertThat(cli.send("lookup " + key)).isEqualTo("3 201 [Content-Type: application/json;"
        + " Location: /payments/" + key + "] " + body);
    assertThat(cli.send("lock " + key)).isEqualTo("0");
    assertThat(cli.send("store " + key + " 500 60 overwritten?")).isEqualTo("-6");
    assertThat(post(key, "{\"amount\":100}").body()).isEqualTo(body);
    assertThat(runs(key)).isEqualTo(1);
  }

  @Test
  void aResponseCStoredIsReplayedByTheJavaFilterWithoutRunningTheHandler() throws Exception {
    String key = key("c-first");
    String lock = cli.send("lock " + key);
    assertThat(Integer.parseInt(lock)).isPositive();
    assertThat(cli.send("store " + key + " 201 60 {\"charge\":\"from C\"}")).isEqualTo("0");
    assertThat(cli.send("unlock " + lock)).isEqualTo("0");

    HttpResponse<String> retry = post(key, "{\"amount\":100}");

    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo("{\"charge\":\"from C\"}");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(runs(key)).isZero();
  }

  @Test
  void aKeyCHoldsGets409FromTheJavaFilterUntilCUnlocksIt() throws Exception {
    String key = key("c-holds");
    String lock = cli.send("lock " + key);
    assertThat(Integer.parseInt(lock)).isPositive();

    HttpResponse<String> duplicate = post(key, "{\"amount\":100}");

    assertThat(duplicate.statusCode()).isEqualTo(409);
    assertThat(duplicate.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    assertThat(runs(key)).isZero();
    assertThat(cli.send("unlock " + lock)).isEqualTo("0");
    assertThat(post(key, "{\"amount\":100}").statusCode()).isEqualTo(201);
    assertThat(runs(key)).isEqualTo(1);
    assertThat(cli.send("check " + key)).startsWith("201 {\"charge\":1,");
  }

  @Test
  void aRequestRunningInJavaMakesOnceLockReturnZeroUntilItsResponseIsStored() throws Exception {
    String key = key("java-holds");
    CountDownLatch finish = new CountDownLatch(1);
    held.put(key, finish);
    CountDownLatch entered = new CountDownLatch(1);
    started.put(key, entered);
    CompletableFuture<HttpResponse<String>> running =
        CompletableFuture.supplyAsync(() -> postUnchecked(key, "{\"amount\":100}"));
    assertThat(entered.await(60, TimeUnit.SECONDS)).as("the handler started").isTrue();

    assertThat(cli.send("lock " + key)).isEqualTo("0");
    assertThat(cli.send("check " + key)).isEqualTo("0");
    assertThat(cli.send("lookup " + key)).isEqualTo("2");
    finish.countDown();

    assertThat(running.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(201);
    assertThat(cli.send("check " + key)).startsWith("201 {\"charge\":1,");
    assertThat(cli.send("lock " + key)).isEqualTo("0");
    assertThat(runs(key)).isEqualTo(1);
  }

  private String key(String name) {
    return name + "-" + run;
  }

  private int runs(String key) {
    AtomicInteger count = runs.get(key);
    return count == null ? 0 : count.get();
  }

  private HttpResponse<String> post(String key, String body)
      throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
            + "/payments"))
        .timeout(Duration.ofSeconds(60))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .POST(BodyPublishers.ofString(body, StandardCharsets.UTF_8))
        .build();
    return HTTP.send(request, BodyHandlers.ofString(StandardCharsets.UTF_8));
  }

  private HttpResponse<String> postUnchecked(String key, String body) {
    try {
      return post(key, body);
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  private void startServer(Once once) throws Exception {
    server = new Server();
    HttpConfiguration http = new HttpConfiguration();
    // no Server header, so the stored headers are the handler's own
    http.setSendServerVersion(false);
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.addFilter(new FilterHolder(new OnceFilter(once)), "/*",
        EnumSet.of(DispatcherType.REQUEST));
    context.addServlet(new ServletHolder(new Payments()), "/payments");
    server.setHandler(context);
    server.start();
    port = connector.getLocalPort();
  }

  /** Charges once per run: counts its runs by key, and waits when the test holds the key. */
  private final class Payments extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void doPost(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      String key = request.getHeader("Idempotency-Key");
      int charge = runs.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      CountDownLatch entered = started.get(key);
      if (entered != null) {
        entered.countDown();
      }
      CountDownLatch finish = held.get(key);
      try {
        if (finish != null && !finish.await(60, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the test never let the handler of " + key + " finish");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      response.setStatus(201);
      response.setContentType("application/json");
      response.setHeader("Location", "/payments/" + key);
      response.getWriter().write("{\"charge\":" + charge + ",\"key\":\"" + key + "\"}");
    }
  }
}
