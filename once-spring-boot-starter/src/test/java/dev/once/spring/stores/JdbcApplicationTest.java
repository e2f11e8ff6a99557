package dev.once.spring.stores;

import dev.once.jdbc.JdbcStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spring.TestServers;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The application on PostgreSQL: {@code spring.datasource.url}, {@code once.store=jdbc} and {@code
 * once.jdbc.create-table=true}, so the starter creates its table and keeps the records there.
 */
@SpringBootTest(
    classes = StoreApplication.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
        "spring.autoconfigure.exclude="
            + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration",
        "management.endpoints.web.exposure.include=health",
        "management.endpoint.health.show-details=always",
        "once.store=jdbc",
        "once.jdbc.create-table=true",
        "spring.main.banner-mode=off"})
class JdbcApplicationTest extends RealStoreApplicationTest {
  private static final String TABLE = TestServers.freshTable();

  @DynamicPropertySource
  static void database(DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", TestServers::jdbcUrl);
    registry.add("once.jdbc.table-name", () -> TABLE);
  }

  @Override
  Class<? extends IdempotencyStore> storeClass() {
    return JdbcStore.class;
  }

  @Override
  long records() {
    return TestServers.count("SELECT count(*) FROM " + TABLE);
  }

  @Override
  IdempotencyStore anotherInstancesStore() {
    return JdbcStore.builder(TestServers.dataSource()).tableName(TABLE).build();
  }
}
