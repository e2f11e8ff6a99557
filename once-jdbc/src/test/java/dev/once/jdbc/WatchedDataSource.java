package dev.once.jdbc;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * A {@link DataSource} in front of another that notes every statement prepared on its connections,
 * with the thread that prepared it, and counts the connections that are out at once: what a store
 * costs, counted exactly rather than sampled.
 */
final class WatchedDataSource {
  /** Every statement prepared, in order. */
  final List<Prepared> statements = new CopyOnWriteArrayList<>();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger mostOpen = new AtomicInteger();
  private final DataSource target;

  WatchedDataSource(DataSource target) {
    this.target = target;
  }

  /** @return the data source to give the store */
  DataSource dataSource() {
    ClassLoader loader = WatchedDataSource.class.getClassLoader();
    return (DataSource) Proxy.newProxyInstance(loader, new Class<?>[] {DataSource.class},
        (proxy, method, arguments) -> {
          Object result = invoke(target, method, arguments);
          if (!(result instanceof Connection)) {
            return result;
          }
          mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
          Connection connection = (Connection) result;
          AtomicBoolean closed = new AtomicBoolean();
          return Proxy.newProxyInstance(loader, new Class<?>[] {Connection.class},
              (c, m, a) -> {
                if (m.getName().startsWith("prepare")) {
                  statements.add(new Prepared((String) a[0], Thread.currentThread()));
                }
                if (m.getName().equals("close") && closed.compareAndSet(false, true)) {
                  open.decrementAndGet();
                }
                return invoke(connection, m, a);
              });
        });
  }

  /** @return the most connections that were out at once */
  int mostOpen() {
    return mostOpen.get();
  }

  /** @return how many statements prepared so far start with {@code prefix} */
  long count(String prefix) {
    return statements.stream().filter(s -> s.sql().startsWith(prefix)).count();
  }

  /**
   * One statement prepared.
   *
   * @param sql its SQL
   * @param thread the thread that prepared it
   */
  record Prepared(String sql, Thread thread) {}

  /** The statement of a poll of parked waiters. */
  static final String POLL = "SELECT key, token FROM";
  /** The statement of a peek. */
  static final String PEEK = "SELECT state, token";

  private static Object invoke(Object target, Method method, Object[] arguments)
      throws Throwable {
    try {
      return method.invoke(target, arguments);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
