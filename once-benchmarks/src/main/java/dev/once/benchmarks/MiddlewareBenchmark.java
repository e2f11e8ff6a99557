package dev.once.benchmarks;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.ServletException;
import java.io.IOException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The seed's {@code Middleware_*} benchmarks: {@code POST /test} through {@link OnceFilter} on a
 * {@link MemoryStore}, to the seed's handler (200, {@code {"status":"created"}}), driven with light
 * in-memory request and response objects ({@code BenchRequest}, {@code BenchResponse}) that each
 * thread recycles, as a container does, so the figures are the filter's own cost (the seed makes a
 * new {@code httptest} request and recorder per operation, which its figures include).
 *
 * <ul>
 *   <li>{@code Middleware_CacheHit}: a retry of a completed request (key {@code cached-key}): the
 *       stored response is replayed.
 *   <li>{@code Middleware_CacheHit_Parallel}: the same from every core at once.
 *   <li>{@code Middleware_CacheMiss}: a new key per request: the handler runs and its response is
 *       stored.
 *   <li>{@code Middleware_NoKey}: no key: the filter lets the request pass.
 *   <li>{@code Middleware_WithBodyHash}: a new key per request with the seed's 52-byte JSON body,
 *       fingerprinted (SHA-256 of method, path, query and body) and stored.
 * </ul>
 *
 * <p>The seed checks no request hash by default; we do ({@code requestHashCheck} defaults to true,
 * since the IETF draft asks for 422 on a reused key). The hit and miss benchmarks therefore run
 * twice, {@code requestHashCheck=true} (our default) and {@code false} (the seed's default);
 * {@code Middleware_WithBodyHash} always checks, like the seed's. Keys of the miss benchmarks are
 * made per request ({@code "key-" + n}), as the seed does.
 *
 * <p>Run (after {@code mvn -B -ntp -pl once-benchmarks -am package -DskipTests}):
 *
 * <pre>
 * java -jar once-benchmarks/target/benchmarks.jar 'MiddlewareBenchmark' -prof gc
 * </pre>
 */
public class MiddlewareBenchmark extends SeedSettings {
  static final String CACHED_KEY = "cached-key";

  /** A retry of a completed request. */
  @Benchmark
  public int Middleware_CacheHit(Configured server, Client client)
      throws IOException, ServletException {
    return client.exchange.send(server.filter, CreatedHandler.INSTANCE, CACHED_KEY, null)
        .getStatus();
  }

  /** A retry of a completed request, from every core. */
  @Benchmark
  @Threads(Threads.MAX)
  public int Middleware_CacheHit_Parallel(Configured server, Client client)
      throws IOException, ServletException {
    return client.exchange.send(server.filter, CreatedHandler.INSTANCE, CACHED_KEY, null)
        .getStatus();
  }

  /** A first request: the handler runs and its response is stored. */
  @Benchmark
  public int Middleware_CacheMiss(Configured server, Client client)
      throws IOException, ServletException {
    return client.exchange.send(server.filter, CreatedHandler.INSTANCE, client.keys.next(), null)
        .getStatus();
  }

  /** A request without a key. */
  @Benchmark
  public int Middleware_NoKey(Default server, Client client) throws IOException, ServletException {
    return client.exchange.send(server.filter, CreatedHandler.INSTANCE, null, null).getStatus();
  }

  /** A first request with a JSON body, fingerprinted. */
  @Benchmark
  public int Middleware_WithBodyHash(Default server, Client client)
      throws IOException, ServletException {
    return client.exchange.send(
        server.filter, CreatedHandler.INSTANCE, client.keys.next(), Fixtures.PAYMENT_BODY)
        .getStatus();
  }

  /** The filter with the request hash checked or not, and one completed request. */
  @State(Scope.Benchmark)
  public static class Configured {
    /** True is our default; false is the seed's. */
    @Param({"true", "false"})
    public boolean requestHashCheck;

    MemoryStore store;
    OnceFilter filter;

    /** Builds the filter and primes {@code cached-key}, as the seed does. */
    @Setup(Level.Trial)
    public void setUp() throws IOException, ServletException {
      store = MemoryStore.create();
      filter = new OnceFilter(Once.builder(store).requestHashCheck(requestHashCheck).build());
      BenchExchange exchange = new BenchExchange();
      BenchExchange.expect("the first request to run",
          exchange.send(filter, CreatedHandler.INSTANCE, CACHED_KEY, null), false);
      BenchExchange.expect("a replay",
          exchange.send(filter, CreatedHandler.INSTANCE, CACHED_KEY, null), true);
      BenchExchange.expect("a new key to run",
          exchange.send(filter, CreatedHandler.INSTANCE, "setup-miss", null), false);
    }

    /** Closes the store. */
    @TearDown(Level.Trial)
    public void tearDown() {
      store.close();
    }
  }

  /** The filter with the default configuration. */
  @State(Scope.Benchmark)
  public static class Default {
    MemoryStore store;
    OnceFilter filter;

    /** Builds the filter. */
    @Setup(Level.Trial)
    public void setUp() throws IOException, ServletException {
      store = MemoryStore.create();
      filter = new OnceFilter(Once.builder(store).build());
      BenchExchange exchange = new BenchExchange();
      BenchExchange.expect("a request without a key to pass",
          exchange.send(filter, CreatedHandler.INSTANCE, null, null), false);
      BenchExchange.expect("a new key with a body to run",
          exchange.send(filter, CreatedHandler.INSTANCE, "setup-hash", Fixtures.PAYMENT_BODY),
          false);
    }

    /** Closes the store. */
    @TearDown(Level.Trial)
    public void tearDown() {
      store.close();
    }
  }

  /** One thread's request and response objects, and its new keys. */
  @State(Scope.Thread)
  public static class Client {
    final BenchExchange exchange = new BenchExchange();
    Fixtures.KeySequence keys;

    /** Starts the thread's keys. */
    @Setup(Level.Trial)
    public void setUp() {
      keys = new Fixtures.KeySequence(Fixtures.threadPrefix("key-"));
    }
  }
}
