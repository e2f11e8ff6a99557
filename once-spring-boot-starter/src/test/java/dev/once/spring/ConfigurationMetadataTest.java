package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.jdbc.JdbcStore;
import dev.once.redis.RedisStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.util.unit.DataSize;

/**
 * The hand-written configuration metadata (what IDEs complete) cannot drift from the binding: it
 * lists exactly the properties the starter binds, and its defaults, bound, give the builder's.
 */
class ConfigurationMetadataTest {
  private final Map<String, Map<String, Object>> properties = readProperties();

  @Test
  void theMetadataListsExactlyThePropertiesTheStarterBinds() {
    Set<String> bound = Stream.concat(
            OnceBinding.BUILDER_OPTIONS.stream().map(option -> option.name),
            OnceBinding.STARTER_PROPERTIES.stream())
        .map(name -> OnceBinding.PREFIX + "." + name)
        .collect(Collectors.toSet());

    assertThat(properties.keySet()).containsExactlyInAnyOrderElementsOf(bound);
    properties.forEach((name, property) -> {
      assertThat(property.get("type")).as(name + " type").isNotNull();
      assertThat((String) property.get("description")).as(name + " description").isNotBlank();
    });
  }

  @Test
  void theDocumentedDefaultsOfTheBuilderOptionsAreTheBuildersDefaults() {
    Map<String, Object> defaults = new LinkedHashMap<>();
    for (OnceBinding.Option<?> option : OnceBinding.BUILDER_OPTIONS) {
      Object value = properties.get("once." + option.name).get("defaultValue");
      assertThat(value).as("default of once." + option.name).isNotNull();
      defaults.put("once." + option.name, asPropertyValue(value));
    }
    MemoryStore store = MemoryStore.create();

    Once documented = new OnceBinding(environment(defaults)).applyTo(Once.builder(store)).build();
    Once actual = Once.builder(store).build();

    SameOptions.assertSameOptions(documented, actual);
  }

  @Test
  void theDocumentedDefaultsOfTheStartersSettingsAreTheOnesItUses() {
    OnceBinding unset = new OnceBinding(environment(Map.of()));

    assertThat(properties.get("once.enabled").get("defaultValue")).isEqualTo(true);
    assertThat(properties.get("once.url-patterns").get("defaultValue"))
        .isEqualTo(unset.urlPatterns());
    assertThat(properties.get("once.filter-order").get("defaultValue"))
        .isEqualTo(unset.filterOrder());
    assertThat(DataSize.parse((String) properties.get("once.memory.maximum-weight")
        .get("defaultValue")).toBytes()).isEqualTo(unset.memoryMaximumWeight())
        .isEqualTo(MemoryStore.DEFAULT_MAXIMUM_WEIGHT_BYTES);
    assertThat(properties.get("once.key-scope").get("defaultValue")).isEqualTo("principal");
    assertThat(properties.get("once.store")).doesNotContainKey("defaultValue");
    assertThat(unset.store()).isNull();
  }

  @Test
  void theDocumentedDefaultsOfTheStoreOptionsAreTheStoresDefaults() {
    assertThat(properties.get("once.redis.key-prefix").get("defaultValue"))
        .isEqualTo(RedisStore.DEFAULT_KEY_PREFIX);
    assertThat(duration("once.redis.command-timeout"))
        .isEqualTo(RedisStore.DEFAULT_COMMAND_TIMEOUT);
    assertThat(DataSize.parse(
            (String) properties.get("once.redis.near-cache.maximum-weight").get("defaultValue"))
        .toBytes()).isEqualTo(RedisStore.DEFAULT_NEAR_CACHE_BYTES);
    assertThat(duration("once.redis.near-cache.max-age"))
        .isEqualTo(RedisStore.DEFAULT_NEAR_CACHE_MAX_AGE);
    assertThat(properties.get("once.redis.replicas").get("defaultValue")).isEqualTo(0);
    assertThat(duration("once.redis.replica-timeout"))
        .isEqualTo(RedisStore.DEFAULT_REPLICA_TIMEOUT);
    assertThat(properties.get("once.jdbc.table-name").get("defaultValue"))
        .isEqualTo(JdbcStore.DEFAULT_TABLE_NAME);
    assertThat(properties.get("once.jdbc.create-table").get("defaultValue")).isEqualTo(false);
    assertThat(duration("once.jdbc.sweep-interval")).isEqualTo(JdbcStore.DEFAULT_SWEEP_INTERVAL);
    assertThat(properties.get("once.jdbc.sweep-batch-size").get("defaultValue"))
        .isEqualTo(JdbcStore.DEFAULT_SWEEP_BATCH_SIZE);
    assertThat(duration("once.jdbc.query-timeout")).isEqualTo(JdbcStore.DEFAULT_QUERY_TIMEOUT);
  }

  @Test
  void springMdListsEveryPropertyWithItsDefault() throws IOException {
    Map<String, String> documented = documentedDefaults(Path.of("..", "docs", "SPRING.md"),
        "## Properties");

    assertThat(documented.keySet()).containsExactlyInAnyOrderElementsOf(properties.keySet());
    assertDocumentedDefaultsAreTheMetadatas(documented);
  }

  @Test
  void theReadmeShowsTheStorePropertiesWithTheirDefaults() throws IOException {
    Map<String, String> documented = documentedDefaults(Path.of("..", "README.md"),
        "## Spring Boot");

    assertThat(documented.keySet()).contains("once.store", "once.memory.maximum-weight")
        .containsAll(properties.keySet().stream()
            .filter(name -> name.startsWith("once.redis.") || name.startsWith("once.jdbc."))
            .collect(Collectors.toList()));
    assertThat(properties.keySet()).containsAll(documented.keySet());
    assertDocumentedDefaultsAreTheMetadatas(documented);
  }

  private void assertDocumentedDefaultsAreTheMetadatas(Map<String, String> documented) {
    documented.forEach((name, cell) -> {
      Object value = properties.get(name).get("defaultValue");
      String expected;
      if (value == null) {
        expected = cell.startsWith("(") ? cell : "(no default)";
      } else if (value instanceof java.util.List && ((java.util.List<?>) value).isEmpty()) {
        expected = "(none)";
      } else {
        expected = "`" + asPropertyValue(value) + "`";
      }
      assertThat(cell).as("the documented default of " + name).isEqualTo(expected);
    });
  }

  /**
   * @return the second cell of each table row whose first cell is a once.* property, in the
   *     section of {@code document} under {@code heading}
   */
  private static Map<String, String> documentedDefaults(Path document, String heading)
      throws IOException {
    String text = Files.readString(document);
    int start = text.indexOf("\n" + heading + "\n");
    assertThat(start).as(heading + " in " + document).isNotNegative();
    int end = text.indexOf("\n## ", start + heading.length() + 2);
    String section = text.substring(start, end < 0 ? text.length() : end);
    Map<String, String> rows = new LinkedHashMap<>();
    Matcher row = Pattern.compile("(?m)^\\| `(once\\.[a-z.-]+)` \\| ([^|]+?) \\|")
        .matcher(section);
    while (row.find()) {
      assertThat(rows.put(row.group(1), row.group(2))).as(row.group(1) + " listed twice")
          .isNull();
    }
    return rows;
  }

  private Duration duration(String property) {
    return Binder.get(environment(Map.of(property, properties.get(property).get("defaultValue"))))
        .bind(property, Duration.class).get();
  }

  private static String asPropertyValue(Object value) {
    return value instanceof List
        ? ((List<?>) value).stream().map(String::valueOf).collect(Collectors.joining(","))
        : String.valueOf(value);
  }

  private static StandardEnvironment environment(Map<String, Object> values) {
    StandardEnvironment environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", values));
    return environment;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> readProperties() {
    try (InputStream in = OnceBinding.class.getResourceAsStream(
        "/META-INF/spring-configuration-metadata.json")) {
      Map<String, Object> metadata = JsonParserFactory.getJsonParser()
          .parseMap(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      Map<String, Map<String, Object>> byName = new LinkedHashMap<>();
      for (Object property : (List<Object>) metadata.get("properties")) {
        Map<String, Object> map = (Map<String, Object>) property;
        byName.put((String) map.get("name"), map);
      }
      return byName;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
