package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The README's table of options, kept true to {@link Once.Builder}: a row per option, defaults. */
class ReadmeOptionsTest {
  private static final Path README = Path.of("..", "README.md");

  @Test
  void theOptionsTableHasARowForEveryBuilderOption() throws Exception {
    Set<String> options = Arrays.stream(Once.Builder.class.getDeclaredMethods())
        .filter(method -> Modifier.isPublic(method.getModifiers()))
        .filter(method -> method.getReturnType() == Once.Builder.class)
        .map(Method::getName)
        .collect(Collectors.toCollection(TreeSet::new));

    assertThat(new TreeSet<>(rows().keySet())).isEqualTo(options);
  }

  @Test
  void theDefaultsInTheTableAreTheBuilders() throws Exception {
    Once once = Once.builder(MemoryStore.create()).build();
    Map<String, String> rows = rows();

    assertThat(rows.get("header")).isEqualTo("`" + once.header() + "`");
    assertThat(duration(rows.get("ttl"))).isEqualTo(once.ttl());
    assertThat(duration(rows.get("lease"))).isEqualTo(once.lease());
    assertThat(duration(rows.get("maxWait"))).isEqualTo(once.maxWait());
    assertThat(rows.get("requireKey")).isEqualTo(String.valueOf(once.requireKey()));
    assertThat(rows.get("requestHashCheck")).isEqualTo("**" + once.requestHashCheck() + "**");
    assertThat(rows.get("failOpen")).isEqualTo(String.valueOf(once.failOpen()));
    assertThat(rows.get("maxKeyLength")).isEqualTo(String.valueOf(once.maxKeyLength()));
    assertThat(bytes(rows.get("maxBodyBytes"))).isEqualTo(once.maxBodyBytes());
    assertThat(bytes(rows.get("maxResponseBytes"))).isEqualTo(once.maxResponseBytes());
    assertThat(Set.of(rows.get("cacheableStatuses").split(", "))).isEqualTo(
        once.cacheableStatuses().stream().map(String::valueOf).collect(Collectors.toSet()));
    assertThat(Set.of(rows.get("methods").split(", "))).isEqualTo(once.methods());
    assertThat(rows.get("unknownOutcome")).isEqualTo("`" + once.unknownOutcome() + "`");
  }

  /** The option name of each row of the table under "## Options", and its default column. */
  private static Map<String, String> rows() throws Exception {
    String readme = Files.readString(README);
    int start = readme.indexOf("\n## Options\n");
    String section = readme.substring(start, readme.indexOf("\n## ", start + 1));
    Map<String, String> rows = new LinkedHashMap<>();
    section.lines().filter(line -> line.startsWith("| `") && line.contains("(")).forEach(line -> {
      String[] cells = line.split(" \\| ");
      rows.put(cells[0].substring(3, cells[0].indexOf('(')), cells[1].trim());
    });
    return rows;
  }

  private static Duration duration(String text) {
    if (text.equals("0")) {
      return Duration.ZERO;
    }
    String[] parts = text.split(" ");
    long amount = Long.parseLong(parts[0]);
    return switch (parts[1]) {
      case "hours" -> Duration.ofHours(amount);
      case "seconds" -> Duration.ofSeconds(amount);
      default -> throw new AssertionError("a duration the test does not read: " + text);
    };
  }

  private static long bytes(String text) {
    String[] parts = text.split(" ");
    assertThat(parts[1]).isEqualTo("MiB");
    return Long.parseLong(parts[0]) << 20;
  }
}
