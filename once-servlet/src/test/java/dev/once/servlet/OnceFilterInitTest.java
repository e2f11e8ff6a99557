package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.MemoryStore;
import dev.once.Once;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.Enumeration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A filter made from {@code web.xml}: its {@link Once} and its body reading from the config. */
class OnceFilterInitTest {
  private final MemoryStore store = MemoryStore.create();
  private final Once once = Once.builder(store).build();

  @AfterEach
  void close() {
    store.close();
  }

  private FilterConfig config(Map<String, String> parameters) {
    ServletContext context = (ServletContext) Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {ServletContext.class},
        (proxy, method, args) -> method.getName().equals("getAttribute")
            && OnceFilter.DEFAULT_ONCE_ATTRIBUTE.equals(args[0]) ? once : null);
    return new FilterConfig() {
      @Override
      public String getFilterName() {
        return "once";
      }

      @Override
      public ServletContext getServletContext() {
        return context;
      }

      @Override
      public String getInitParameter(String name) {
        return parameters.get(name);
      }

      @Override
      public Enumeration<String> getInitParameterNames() {
        return Collections.enumeration(parameters.keySet());
      }
    };
  }

  @Test
  void theBodyReadingInitParameterIsBlockingOrNonBlockingAndNothingElse() throws Exception {
    new OnceFilter().init(config(Map.of()));
    new OnceFilter().init(config(Map.of(OnceFilter.BODY_READING_PARAM, "blocking")));
    new OnceFilter().init(config(Map.of(OnceFilter.BODY_READING_PARAM, "non-blocking")));

    assertThatThrownBy(() -> new OnceFilter().init(
        config(Map.of(OnceFilter.BODY_READING_PARAM, "sometimes"))))
        .isInstanceOf(ServletException.class)
        .hasMessage("OnceFilter's init parameter body-reading must be blocking or non-blocking,"
            + " but was \"sometimes\"");
  }

  @Test
  void aFilterWithoutItsOnceInTheContextRefusesToStart() {
    assertThatThrownBy(() -> new OnceFilter().init(
        config(Map.of(OnceFilter.ONCE_ATTRIBUTE_PARAM, "elsewhere"))))
        .isInstanceOf(ServletException.class)
        .hasMessageContaining("\"elsewhere\"");
    assertThat(OnceFilter.BODY_READING_PARAM).isEqualTo("body-reading");
  }
}
