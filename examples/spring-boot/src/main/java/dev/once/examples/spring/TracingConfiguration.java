package dev.once.examples.spring;

import brave.handler.MutableSpan;
import brave.handler.SpanHandler;
import brave.propagation.TraceContext;
import java.util.TreeMap;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Logs each span as it ends, one line each, so the example shows its traces without a tracing
 * server: the HTTP request's span, once's {@code once.request} under it, and a {@code once.store}
 * per store operation under that. An application sends them to Zipkin or an OpenTelemetry
 * collector instead (Spring Boot's {@code management.zipkin.*}, {@code management.otlp.*}).
 */
@Configuration(proxyBeanMethods = false)
class TracingConfiguration {
  private static final Log LOG = LogFactory.getLog("dev.once.examples.spans");

  @Bean
  SpanHandler loggingSpanHandler() {
    return new SpanHandler() {
      @Override
      public boolean end(TraceContext context, MutableSpan span, Cause cause) {
        LOG.info("span " + span.name() + " trace=" + context.traceIdString() + " id="
            + context.spanIdString() + " parent=" + context.parentIdString() + " tags="
            + new TreeMap<>(span.tags()));
        return true;
      }
    };
  }
}
