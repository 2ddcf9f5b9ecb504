package dev.ociregistry.storage.driver;

import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link StorageDriver} for decorator tests: records every call that reaches it and answers each
 * with one fixed value per return type, so a test can tell whether a call arrived unchanged and
 * whether its answer came back unchanged. Every method of the SPI reaches it, the default ones too
 * (a dynamic proxy).
 */
final class RecordingDriver {
  record Call(Method method, List<Object> arguments) {}

  private static final FileWriter WRITER =
      new FileWriter() {
        @Override
        public void write(ByteBuffer buffer) {}

        @Override
        public long size() {
          return 0;
        }

        @Override
        public void commit() {}

        @Override
        public void abort() {}

        @Override
        public void cancel() {}

        @Override
        public void close() {}
      };

  private static final InputStream STREAM = InputStream.nullInputStream();

  /** What the driver answers, by return type; {@code void} methods answer nothing. */
  private static final Map<Class<?>, Object> ANSWERS =
      Map.of(
          Optional.class,
          Optional.of("answer"),
          byte[].class,
          new byte[] {42},
          InputStream.class,
          STREAM,
          FileWriter.class,
          WRITER,
          List.class,
          List.of("answer"));

  final List<Call> calls = new ArrayList<>();

  final StorageDriver driver =
      (StorageDriver)
          Proxy.newProxyInstance(
              StorageDriver.class.getClassLoader(),
              new Class<?>[] {StorageDriver.class},
              (proxy, method, args) -> {
                calls.add(new Call(method, args == null ? List.of() : Arrays.asList(args)));
                return answer(method);
              });

  /** The value the driver answers {@code method} with (null for {@code void}). */
  static Object answer(Method method) {
    Class<?> type = method.getReturnType();
    if (type == void.class) {
      return null;
    }
    Object answer = ANSWERS.get(type);
    if (answer == null) {
      throw new AssertionError("no answer for " + method + ": add one for " + type);
    }
    return answer;
  }

  /** Arguments for {@code method}: {@code path} for every path, a sample value for the rest. */
  static Object[] arguments(Method method, String path) {
    Class<?>[] types = method.getParameterTypes();
    Object[] arguments = new Object[types.length];
    for (int i = 0; i < types.length; i++) {
      arguments[i] = argument(method, types[i], path);
    }
    return arguments;
  }

  private static Object argument(Method method, Class<?> type, String path) {
    if (type == String.class) {
      return path;
    }
    if (type == byte[].class) {
      return new byte[] {1, 2, 3};
    }
    if (type == long.class) {
      return 7L;
    }
    if (type == boolean.class) {
      return true;
    }
    if (type == Collection.class) {
      return List.of(path);
    }
    if (type == StorageDriver.FileVisitor.class) {
      return (StorageDriver.FileVisitor) file -> {};
    }
    throw new AssertionError("no sample argument for " + method + ": add one for " + type);
  }

  /** Every method of the SPI, the inherited {@code close} included. */
  static List<Method> spiMethods() {
    return Arrays.stream(StorageDriver.class.getMethods())
        .filter(m -> !Modifier.isStatic(m.getModifiers()))
        .sorted(Comparator.comparing(Method::toString))
        .toList();
  }
}
