package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README's account of the proxy, kept true to the code. */
class ReadmeTest {
  private static final Path README = Path.of("..", "README.md");

  @Test
  void theFlagTableHasARowForEveryFlagWithItsDefault() throws Exception {
    List<String> rows = Files.readAllLines(README).stream()
        .filter(line -> line.startsWith("| `--"))
        .toList();

    for (ProxyOptions.Flag flag : ProxyOptions.Flag.values()) {
      String start = "| `" + flag.flag() + (flag.isSwitch() ? "`" : " " + flag.metavar + "`");
      assertThat(rows).as(flag.flag()).filteredOn(row -> row.startsWith(start)).singleElement()
          .satisfies(row -> {
            if (flag.defaultValue != null && !flag.isSwitch()) {
              assertThat(row).contains("| `" + flag.defaultValue + "` |");
            }
          });
    }
    assertThat(rows).hasSize(ProxyOptions.Flag.values().length);
  }

  @Test
  void theMainJobCommandRunsTheJarThisModuleBuilds() throws Exception {
    assertThat(Files.readString(README)).contains("    mvn -B -ntp -q -pl once-proxy -am package"
        + " -DskipTests && java -jar once-proxy/target/once-proxy.jar\n");
  }
}
