package dev.once.examples.kit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/**
 * What the test of an example the root README shows whole holds it to, beside {@link
 * PaymentsExampleTest}'s: its main class is in the root README as it is, in one {@code java} block.
 */
public abstract class ShownWholeExampleTest extends PaymentsExampleTest {
  /** For the example whose program is {@code main}. */
  protected ShownWholeExampleTest(Class<?> main) {
    super(main);
  }

  @Test
  public void theRootReadmeShowsThisExampleWhole() throws Exception {
    String source = Files.readString(source(main));

    assertThat(Files.readString(ROOT.resolve("README.md")))
        .contains("```java\n" + source + "```\n");
  }
}
