package dev.once.spring;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.core.annotation.AliasFor;
import org.springframework.test.context.TestPropertySource;

/**
 * A test of a real application with a store of its own ({@link TestApplications.OwnStore}) on a
 * random port, with {@code once.url-patterns=/payments,/payments/*}. It has neither Redis nor a
 * database: the test class path has Spring Data Redis and Spring JDBC for the store tests, so
 * their auto-configurations are excluded. A test adds its own {@link #properties()}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {
    "once.url-patterns=/payments,/payments/*",
    "spring.autoconfigure.exclude="
        + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration,"
        + "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
    "spring.main.banner-mode=off"})
public @interface OwnStoreApplicationTest {
  /** @return the application to start */
  @AliasFor(annotation = SpringBootTest.class, attribute = "classes")
  Class<?>[] classes();

  /** @return the test's own properties, beside the ones above */
  @AliasFor(annotation = SpringBootTest.class, attribute = "properties")
  String[] properties() default {};
}
