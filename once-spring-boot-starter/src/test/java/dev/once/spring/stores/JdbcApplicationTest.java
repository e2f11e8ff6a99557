package dev.once.spring.stores;

import dev.once.jdbc.JdbcStore;
import dev.once.spring.TestServers;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

/**
 * The application on PostgreSQL: {@code spring.datasource.url}, {@code once.store=jdbc} and {@code
 * once.jdbc.create-table=true}, so the starter creates its table and keeps the records there.
 */
@TestPropertySource(properties = {
    "spring.autoconfigure.exclude="
        + "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration",
    "once.store=jdbc",
    "once.jdbc.create-table=true"})
class JdbcApplicationTest extends RealStoreApplicationTest {
  private static final String TABLE = TestServers.freshTable();

  JdbcApplicationTest() {
    super(JdbcStore.class, () -> TestServers.count("SELECT count(*) FROM " + TABLE),
        () -> JdbcStore.builder(TestServers.dataSource()).tableName(TABLE).build());
  }

  @DynamicPropertySource
  static void database(DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", TestServers::jdbcUrl);
    registry.add("once.jdbc.table-name", () -> TABLE);
  }
}
