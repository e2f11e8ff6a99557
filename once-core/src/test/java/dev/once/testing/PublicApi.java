package dev.once.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The record of a module's public API: every public and protected type, constructor, method and
 * field of the packages its {@code module-info} exports (to everyone), one signature a line (each
 * type's declaration, then its members indented), sorted, in {@code api.txt} at the module's root.
 * Each module's {@code PublicApiTest} compares the
 * built classes with that file and fails on any difference, so a change to the API is made on
 * purpose and shows in the review as a change to the file. After an intended change, regenerate
 * the file and commit it:
 *
 * <pre>mvn -o -pl MODULE -am verify -Dtest=PublicApiTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Donce.api.update=true</pre>
 */
public final class PublicApi {
  /** The system property that makes the test write the record instead of comparing it. */
  public static final String UPDATE = "once.api.update";

  private PublicApi() {}

  /**
   * Compares the API of the module built in {@code target/classes} with its record, {@code
   * api.txt} (both relative to the module's directory, where Maven runs its tests), or writes the
   * record when {@link #UPDATE} is set.
   *
   * @throws AssertionError if the API differs from the record, naming what was added and removed
   */
  public static void assertMatchesRecord() {
    Path record = Path.of("api.txt");
    List<String> actual = signatures(Path.of("target", "classes"));
    if (Boolean.getBoolean(UPDATE)) {
      write(record, actual);
      return;
    }
    List<String> recorded = read(record);
    List<String> added = qualified(actual);
    added.removeAll(qualified(recorded));
    List<String> removed = qualified(recorded);
    removed.removeAll(qualified(actual));
    if (!actual.equals(recorded)) {
      throw new AssertionError("the public API differs from " + record.toAbsolutePath()
          + "\n  added:   " + String.join("\n           ", added)
          + "\n  removed: " + String.join("\n           ", removed)
          + "\nIf the change is intended, regenerate the record with -D" + UPDATE + "=true (see "
          + PublicApi.class.getName() + ") and commit it with the change.");
    }
  }

  /**
   * @param classes a module's compiled classes, with its {@code module-info.class}
   * @return the signatures of its exported API, sorted
   */
  public static List<String> signatures(Path classes) {
    ModuleDescriptor module;
    try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
      module = ModuleDescriptor.read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, List<String>> types = new TreeMap<>();
    for (ModuleDescriptor.Exports exports : module.exports()) {
      if (!exports.isQualified()) {
        for (Class<?> type : types(classes, exports.source())) {
          types.put(type.getName(), describe(type));
        }
      }
    }
    List<String> lines = new ArrayList<>();
    types.values().forEach(lines::addAll);
    return lines;
  }

  private static List<Class<?>> types(Path classes, String packageName) {
    Path directory = classes.resolve(packageName.replace('.', '/'));
    try (Stream<Path> files = Files.list(directory)) {
      List<Class<?>> types = new ArrayList<>();
      for (Path file : files.collect(Collectors.toList())) {
        String name = file.getFileName().toString();
        if (name.endsWith(".class") && !name.equals("package-info.class")) {
          Class<?> type = Class.forName(packageName + "." + name.replace(".class", ""), false,
              PublicApi.class.getClassLoader());
          if (isApi(type)) {
            types.add(type);
          }
        }
      }
      return types;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @return true for a public or protected type, not local or anonymous, nested in no other */
  private static boolean isApi(Class<?> type) {
    if (type.isAnonymousClass() || type.isLocalClass() || type.isSynthetic()) {
      return false;
    }
    for (Class<?> t = type; t != null; t = t.getDeclaringClass()) {
      if (!isVisible(t.getModifiers())) {
        return false;
      }
    }
    return true;
  }

  private static boolean isVisible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  /** @return the type's declaration, then its members indented, sorted */
  private static List<String> describe(Class<?> type) {
    Set<String> members = new TreeSet<>();
    for (Field field : type.getDeclaredFields()) {
      if (isVisible(field.getModifiers()) && !field.isSynthetic()) {
        members.add(field(field));
      }
    }
    for (Constructor<?> constructor : type.getDeclaredConstructors()) {
      if (isVisible(constructor.getModifiers()) && !constructor.isSynthetic()) {
        members.add(executable(constructor, type.getName()));
      }
    }
    for (Method method : type.getDeclaredMethods()) {
      if (isVisible(method.getModifiers()) && !method.isSynthetic() && !method.isBridge()) {
        members.add(executable(method, type.getName()));
      }
    }
    List<String> lines = new ArrayList<>();
    lines.add(declaration(type));
    members.forEach(member -> lines.add("  " + member));
    return lines;
  }

  private static String declaration(Class<?> type) {
    StringBuilder line = new StringBuilder();
    int modifiers = type.getModifiers() & ~Modifier.INTERFACE & ~Modifier.STATIC;
    if (type.isInterface()) {
      modifiers &= ~Modifier.ABSTRACT;
    }
    line.append(Modifier.toString(modifiers));
    if (type.isSealed()) {
      line.append(" sealed");
    }
    line.append(type.isAnnotation() ? " @interface"
        : type.isInterface() ? " interface"
        : type.isEnum() ? " enum"
        : type.isRecord() ? " record"
        : " class");
    line.append(' ').append(type.getName());
    Type superclass = type.getGenericSuperclass();
    if (superclass != null && superclass != Object.class && !type.isEnum() && !type.isRecord()) {
      line.append(" extends ").append(superclass.getTypeName());
    }
    Type[] interfaces = type.getGenericInterfaces();
    if (interfaces.length > 0) {
      line.append(type.isInterface() ? " extends " : " implements ")
          .append(Arrays.stream(interfaces).map(Type::getTypeName)
              .collect(Collectors.joining(", ")));
    }
    if (type.isSealed()) {
      line.append(" permits ").append(Arrays.stream(type.getPermittedSubclasses())
          .map(Class::getName).sorted().collect(Collectors.joining(", ")));
    }
    return line.toString().strip();
  }

  private static String field(Field field) {
    String line = Modifier.toString(field.getModifiers()) + " "
        + field.getGenericType().getTypeName() + " " + field.getName();
    int constant = Modifier.STATIC | Modifier.FINAL;
    if ((field.getModifiers() & constant) == constant
        && (field.getType().isPrimitive() || field.getType() == String.class)) {
      // a constant is compiled into its users: a new value is an API change
      try {
        line += " = " + field.get(null);
      } catch (ReflectiveOperationException | RuntimeException e) {
        line += " = ?";
      }
    }
    return line;
  }

  /** @return the signature as {@link Method#toGenericString()}, without the declaring type */
  private static String executable(Executable executable, String declaringType) {
    return executable.toGenericString().replace(declaringType + ".", "");
  }

  /** @return the lines, each member's prefixed with its type's declaration */
  private static List<String> qualified(List<String> lines) {
    List<String> qualified = new ArrayList<>();
    String type = "";
    for (String line : lines) {
      if (line.startsWith(" ")) {
        qualified.add(type + ":" + line.substring(1));
      } else {
        type = line;
        qualified.add(line);
      }
    }
    return qualified;
  }

  private static List<String> read(Path record) {
    try {
      return Files.readAllLines(record, StandardCharsets.UTF_8).stream()
          .filter(line -> !line.isBlank() && !line.startsWith("#"))
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new AssertionError("no API record at " + record.toAbsolutePath() + ": create it with -D"
          + UPDATE + "=true (see " + PublicApi.class.getName() + ")", e);
    }
  }

  private static void write(Path record, List<String> signatures) {
    List<String> lines = new ArrayList<>();
    lines.add("# The public API of this module, one signature a line: compared with the built"
        + " classes by");
    lines.add("# PublicApiTest; regenerate it after an intended change (README, Building).");
    lines.addAll(signatures);
    try {
      Files.write(record, lines, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
