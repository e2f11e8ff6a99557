/**
 * Spring Boot auto-configuration for once: the servlet filter, or the {@code WebFilter} in a
 * WebFlux application, the {@code once.*} properties, {@code @Idempotent}, Micrometer meters and
 * a health contributor.
 */
module dev.once.spring {
  requires transitive dev.once.servlet;
  requires spring.boot;
  requires transitive spring.boot.autoconfigure;
  requires spring.beans;
  requires spring.context;
  requires spring.core;
  requires static jakarta.servlet;
  requires static transitive spring.web;
  requires static spring.webmvc;
  requires static dev.once.webflux;
  requires static spring.webflux;
  requires static reactor.core;
  requires static micrometer.core;
  requires static micrometer.observation;
  requires static dev.once.micrometer;
  requires static spring.boot.health;
  requires static spring.boot.actuator;
  requires static spring.boot.actuator.autoconfigure;
  requires static spring.security.core;
  requires static dev.once.redis;
  requires static dev.once.jdbc;
  requires static spring.jdbc;
  requires static spring.tx;
  requires static spring.data.redis;
  requires static spring.boot.sql;
  requires static java.sql;
  requires org.apache.commons.logging;

  exports dev.once.spring;

  // Spring reads the package-private configuration and bean classes reflectively
  opens dev.once.spring;
}
