package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.once.nativelib.NativeProcess.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/NATIVE.md's examples are programs: every C block with a {@code main} is compiled against
 * target/once.h and target/libonce.so and run, every Python block is run with python3 (when the
 * machine has it), and each must print exactly the {@code text} block that follows it.
 */
class DocumentationIT {
  private static final Path DOCS =
      Path.of(System.getProperty("once.native.docs", "../docs/NATIVE.md"));
  private static final Pattern BLOCK = Pattern.compile("```(\\w+)\\n(.*?)```", Pattern.DOTALL);

  @Test
  void theCExamplesCompileAndPrintWhatTheDocsSay(@TempDir Path dir) throws Exception {
    List<Example> examples = examples("c");
    assertThat(examples).hasSizeGreaterThanOrEqualTo(2);

    for (int i = 0; i < examples.size(); i++) {
      Path source = dir.resolve("example" + i + ".c");
      Path binary = dir.resolve("example" + i);
      Files.writeString(source, examples.get(i).code());
      Path target = NativeProcess.TARGET.toAbsolutePath();
      Result compiled = NativeProcess.run(Map.of(), List.of("cc", "-std=c11", "-Wall", "-Werror",
          "-I" + target, source.toString(), "-L" + target, "-lonce", "-Wl,-rpath," + target,
          "-o", binary.toString()));
      assertThat(compiled.exitCode()).as(compiled.describe()).isZero();

      Result ran = NativeProcess.run(Map.of(), List.of(binary.toString()));

      assertThat(ran.exitCode()).as(ran.describe()).isZero();
      assertThat(ran.stdout()).as(ran.describe()).isEqualTo(examples.get(i).output());
    }
  }

  @Test
  void thePythonCtypesExamplePrintsWhatTheDocsSay(@TempDir Path dir) throws Exception {
    assumeTrue(python3(), "python3 is not installed");
    List<Example> examples = examples("python");
    assertThat(examples).hasSize(1);
    Path script = dir.resolve("example.py");
    Files.writeString(script, examples.get(0).code());

    Result ran = NativeProcess.run(
        Map.of("LIBONCE", NativeProcess.TARGET.resolve("libonce.so").toAbsolutePath().toString()),
        List.of("python3", script.toString()));

    assertThat(ran.exitCode()).as(ran.describe()).isZero();
    assertThat(ran.stdout()).as(ran.describe()).isEqualTo(examples.get(0).output());
  }

  private static boolean python3() {
    try {
      return NativeProcess.run(Map.of(), List.of("python3", "--version")).exitCode() == 0;
    } catch (Exception e) {
      return false;
    }
  }

  /** The blocks of a language that are programs, each with the text block after it. */
  private static List<Example> examples(String language) throws Exception {
    String markdown = Files.readString(DOCS);
    List<String[]> blocks = new ArrayList<>();
    Matcher matcher = BLOCK.matcher(markdown);
    while (matcher.find()) {
      blocks.add(new String[] {matcher.group(1), matcher.group(2)});
    }
    List<Example> examples = new ArrayList<>();
    for (int i = 0; i < blocks.size(); i++) {
      String[] block = blocks.get(i);
      boolean program = language.equals("c") ? block[1].contains("int main(") : true;
      if (block[0].equals(language) && program) {
        assertThat(i + 1 < blocks.size() && blocks.get(i + 1)[0].equals("text"))
            .as("the %s example ending \"%s\" is followed by a text block of its output",
                language, block[1].substring(Math.max(0, block[1].length() - 60)))
            .isTrue();
        examples.add(new Example(block[1], blocks.get(i + 1)[1]));
      }
    }
    return examples;
  }

  private record Example(String code, String output) {}
}
