package dev.once.examples.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What a newcomer follows before writing any code, kept true to the build: the install command,
 * the BOM, the modules the examples' run commands need, and every {@code make} and {@code mvn}
 * command of the README, the docs and the examples' READMEs (the modules, profiles and targets
 * they name exist). It lives with the first example because that is where the first hour ends.
 */
class FirstHourDocsTest {
  private static final Path ROOT = Path.of("..", "..").toAbsolutePath().normalize();
  private static final String INSTALL = "mvn -B -ntp install -DskipTests";

  @Test
  void theReadmeInstallsWithOneCommandThatMakeInstallRuns() throws Exception {
    String readme = Files.readString(ROOT.resolve("README.md"));
    String makefile = Files.readString(ROOT.resolve("Makefile"));

    assertThat(readme).contains("    " + INSTALL + "\n").contains("`make install`");
    assertThat(makefile).containsPattern("(?m)^install:\\n\\t" + Pattern.quote(INSTALL) + "\\b");
    assertThat(Files.readString(ROOT.resolve(".ci/run"))).endsWith("\nmvn -B -ntp verify\n");
    assertThat(readme).contains("    mvn -B -ntp verify\n");
  }

  @Test
  void theBomManagesEveryPublishedModuleAtTheReactorsVersion() throws Exception {
    Document parent = pom(ROOT);
    String version = text(parent.getDocumentElement(), "version");
    Set<String> published = new TreeSet<>();
    for (String module : modules(parent)) {
      Document pom = pom(ROOT.resolve(module));
      if (!skips(pom, "maven.deploy.skip") && !module.equals("once-bom")) {
        published.add(text(pom.getDocumentElement(), "artifactId"));
      }
    }
    Element bom = pom(ROOT.resolve("once-bom")).getDocumentElement();
    Set<String> managed = new TreeSet<>();
    NodeList dependencies = bom.getElementsByTagName("dependency");
    for (int i = 0; i < dependencies.getLength(); i++) {
      Element dependency = (Element) dependencies.item(i);
      assertThat(text(dependency, "groupId")).isEqualTo("dev.once");
      assertThat(text(dependency, "version")).isEqualTo("${project.version}");
      managed.add(text(dependency, "artifactId"));
    }

    assertThat(published).contains("once-core", "once-servlet", "once-spring-boot-starter");
    assertThat(managed).isEqualTo(published);
    assertThat(text(bom, "version")).isEqualTo(version);
    assertThat(Files.readString(ROOT.resolve("README.md"))).contains(
        "  <artifactId>once-bom</artifactId>\n      <version>" + version + "</version>");
  }

  /**
   * An example's README runs it with {@code mvn -pl examples/X compile exec:java} and no
   * {@code -am}, after {@code make install}: exec:java resolves the example's dependencies, its
   * test ones too, from the local repository, so every module of the reactor an example needs
   * (the unpublished examples' kit among them) must be one that {@code make install} installs.
   */
  @Test
  void everyModuleAnExampleNeedsIsInstalledForItsRunCommand() throws Exception {
    Map<String, Document> reactor = new TreeMap<>();
    List<String> examples = new ArrayList<>();
    for (String module : modules(pom(ROOT))) {
      Document pom = pom(ROOT.resolve(module));
      reactor.put(text(pom.getDocumentElement(), "artifactId"), pom);
      boolean runnable = Files.exists(ROOT.resolve(module).resolve("README.md"));
      if (module.startsWith("examples/") && runnable) {
        examples.add(module);
      }
    }
    Set<String> needed = new TreeSet<>();
    for (String example : examples) {
      needed.addAll(reactorDependencies(pom(ROOT.resolve(example)), reactor, true));
    }

    assertThat(examples).hasSize(5);
    assertThat(needed).contains("once-example-kit", "once-servlet", "once-core");
    for (String module : needed) {
      assertThat(skips(reactor.get(module), "maven.install.skip")).as(module).isFalse();
    }
  }

  @Test
  void everyMakeTargetTheDocsNameExists() throws Exception {
    Set<String> root = targets(ROOT.resolve("Makefile"));
    Set<String> nativeTargets = targets(ROOT.resolve("once-native/Makefile"));
    List<String> commands = commands("make");

    assertThat(commands).isNotEmpty();
    for (String command : commands) {
      List<String> words = List.of(command.split("\\s+"));
      boolean inNative = words.size() > 2 && words.get(1).equals("-C");
      String target = words.get(inNative ? 3 : 1);
      assertThat(inNative ? nativeTargets : root).as(command).contains(target);
    }
  }

  @Test
  void everyModuleAndProfileTheDocsMvnCommandsNameExists() throws Exception {
    Document parent = pom(ROOT);
    List<String> modules = modules(parent);
    List<String> commands = commands("mvn");

    assertThat(commands).isNotEmpty();
    for (String command : commands) {
      List<String> words = List.of(command.split("\\s+"));
      List<String> named = new ArrayList<>();
      for (int i = 0; i < words.size(); i++) {
        if (words.get(i).equals("-pl")) {
          for (String module : words.get(i + 1).replace("'", "").split(",")) {
            named.add(module.startsWith("!") ? module.substring(1) : module);
          }
        }
      }
      assertThat(modules).as(command).containsAll(named);
      for (String word : words) {
        if (word.startsWith("-P")) {
          Set<String> profiles = new TreeSet<>(profiles(parent));
          for (String module : named) {
            profiles.addAll(profiles(pom(ROOT.resolve(module))));
          }
          assertThat(profiles).as(command).contains(word.substring(2));
        }
      }
    }
  }

  /**
   * The commands starting with {@code tool} in the docs: in backticks, or on an indented line of
   * a code block, up to a shell operator or a comment.
   */
  private static List<String> commands(String tool) throws Exception {
    Pattern inline = Pattern.compile("`(" + tool + " [^`]+)`");
    Pattern block = Pattern.compile("^ {4,}(?:\\$ )?(" + tool + " .+)$");
    List<Path> docs = new ArrayList<>(List.of(ROOT.resolve("README.md"),
        ROOT.resolve("examples/servlet/README.md"), ROOT.resolve("examples/spring-boot/README.md"),
        ROOT.resolve("examples/spring-boot-transactional/README.md"),
        ROOT.resolve("examples/jaxrs/README.md"), ROOT.resolve("examples/webflux/README.md")));
    try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
      files.filter(file -> file.toString().endsWith(".md")).sorted().forEach(docs::add);
    }
    List<String> commands = new ArrayList<>();
    for (Path doc : docs) {
      for (String line : Files.readAllLines(doc)) {
        List<String> found = new ArrayList<>();
        Matcher code = block.matcher(line);
        if (code.matches()) {
          found.add(code.group(1));
        }
        Matcher quoted = inline.matcher(line);
        while (quoted.find()) {
          found.add(quoted.group(1));
        }
        for (String command : found) {
          commands.add(command.split(" && | \\| | # |;")[0].trim());
        }
      }
    }
    return commands;
  }

  private static Set<String> targets(Path makefile) throws Exception {
    Set<String> targets = new TreeSet<>();
    Matcher matcher = Pattern.compile("(?m)^([a-z][a-z-]*):").matcher(Files.readString(makefile));
    while (matcher.find()) {
      targets.add(matcher.group(1));
    }
    return targets;
  }

  /**
   * The reactor's modules {@code pom} depends on, in any scope when {@code direct}, and those they
   * bring with them: their compile and runtime dependencies that are not optional, as Maven
   * resolves them.
   */
  private static Set<String> reactorDependencies(Document pom, Map<String, Document> reactor,
      boolean direct) {
    Set<String> found = new TreeSet<>();
    for (Element dependency : dependencies(pom)) {
      String module = text(dependency, "artifactId");
      String scope = text(dependency, "scope");
      boolean brought = direct || (scope == null || scope.equals("compile")
          || scope.equals("runtime")) && !"true".equals(text(dependency, "optional"));
      if ("dev.once".equals(text(dependency, "groupId")) && reactor.containsKey(module)
          && brought) {
        found.add(module);
        found.addAll(reactorDependencies(reactor.get(module), reactor, false));
      }
    }
    return found;
  }

  /** The dependencies {@code pom} declares (not those it manages). */
  private static List<Element> dependencies(Document pom) {
    List<Element> found = new ArrayList<>();
    Element dependencies = child(pom.getDocumentElement(), "dependencies");
    for (Node node = dependencies == null ? null : dependencies.getFirstChild(); node != null;
        node = node.getNextSibling()) {
      if (node instanceof Element dependency) {
        found.add(dependency);
      }
    }
    return found;
  }

  /** Whether {@code pom} sets the property {@code skip} (maven.install.skip...) to true. */
  private static boolean skips(Document pom, String skip) {
    Element properties = child(pom.getDocumentElement(), "properties");
    return properties != null && "true".equals(text(properties, skip));
  }

  private static Document pom(Path directory) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(directory.resolve("pom.xml").toFile());
  }

  private static List<String> modules(Document pom) {
    List<String> modules = new ArrayList<>();
    NodeList nodes = pom.getElementsByTagName("module");
    for (int i = 0; i < nodes.getLength(); i++) {
      modules.add(nodes.item(i).getTextContent().trim());
    }
    return modules;
  }

  private static List<String> profiles(Document pom) {
    List<String> profiles = new ArrayList<>();
    NodeList nodes = pom.getElementsByTagName("profile");
    for (int i = 0; i < nodes.getLength(); i++) {
      profiles.add(text((Element) nodes.item(i), "id"));
    }
    return profiles;
  }

  /** The text of {@code parent}'s direct child named {@code name}, or null. */
  private static String text(Element parent, String name) {
    Element child = child(parent, name);
    return child == null ? null : child.getTextContent().trim();
  }

  private static Element child(Element parent, String name) {
    for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
      if (node instanceof Element element && element.getTagName().equals(name)) {
        return element;
      }
    }
    return null;
  }
}
