package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.web.server.WebFilter;

/** The starter in reactive applications: which {@code WebFilter}s, with which settings. */
class OnceWebFluxAutoConfigurationTest {
  private final ReactiveWebApplicationContextRunner runner =
      new ReactiveWebApplicationContextRunner().withConfiguration(AutoConfigurations.of(
          OnceAutoConfiguration.class, OnceWebFluxAutoConfiguration.class));

  @Test
  void aReactiveApplicationGetsTheWebFiltersAfterSpringSecurityAndNoServletFilter() {
    runner.run(context -> {
      assertThat(context).hasSingleBean(Once.class)
          .hasSingleBean(UrlPatternWebFilter.class)
          .hasSingleBean(IdempotentWebFilter.class)
          .doesNotHaveBean(FilterRegistrationBean.class)
          .doesNotHaveBean(IdempotentEndpoints.class);
      assertThat(context.getBean(IdempotentWebFilter.class).getOrder()).isEqualTo(-90);
      assertThat(context.getBean(UrlPatternWebFilter.class).getOrder()).isEqualTo(-89);
      assertThat(context.getBean(UrlPatternWebFilter.class)).hasToString("UrlPatternWebFilter[/*]");
    });
  }

  @Test
  void theFilterOrderAndUrlPatternsAreTheServletApplicationsProperties() {
    runner.withPropertyValues("once.filter-order=5", "once.url-patterns=/payments/*,*.json")
        .run(context -> {
          assertThat(context.getBean(IdempotentWebFilter.class).getOrder()).isEqualTo(5);
          UrlPatternWebFilter filter = context.getBean(UrlPatternWebFilter.class);
          assertThat(filter.getOrder()).isEqualTo(6);
          assertThat(filter).hasToString("UrlPatternWebFilter[/payments/*, *.json]");
        });
  }

  @Test
  void emptyUrlPatternsLeaveOnlyTheAnnotationFilter() {
    runner.withPropertyValues("once.url-patterns=").run(context -> {
      assertThat(context).doesNotHaveBean(UrlPatternWebFilter.class);
      assertThat(context).hasSingleBean(IdempotentWebFilter.class);
    });
  }

  @Test
  void aUrlPatternTheServletSpecificationDoesNotAllowStopsTheStart() {
    runner.withPropertyValues("once.url-patterns=/pay*").run(context -> {
      assertThat(context).hasFailed();
      assertThat(context.getStartupFailure()).rootCause()
          .isInstanceOf(InvalidOncePropertyException.class)
          .hasMessageContaining("is not a servlet URL pattern");
    });
  }

  @Test
  void onceEnabledFalseConfiguresNoWebFilter() {
    runner.withPropertyValues("once.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean(WebFilter.class));
  }

  @Test
  void withoutOnceWebfluxThereIsNoWebFilter() {
    runner.withClassLoader(new FilteredClassLoader("dev.once.webflux"))
        .run(context -> assertThat(context).doesNotHaveBean(WebFilter.class));
  }

  @Test
  void urlPatternsMatchAsAServletContainerMatchesAFiltersMapping() {
    List<String> patterns = List.of("/payments", "/orders/*", "*.json", "/");
    UrlPatternWebFilter filter = new UrlPatternWebFilter(null, patterns, 0);

    assertThat(List.of("/payments", "/orders", "/orders/7", "/orders/7/lines", "/a/b.json",
        "/x.json", "/", "/pay%6Dents")).allMatch(filter::covers);
    assertThat(List.of("/payments/7", "/paymentsx", "/ordersx", "/a.json/b", "/a/json",
        "/a/b.jsonx", "/other", "")).noneMatch(filter::covers);
    assertThat(new UrlPatternWebFilter(null, List.of("/*"), 0).covers("/anything/at/all"))
        .isTrue();
  }
}
