package dev.ociregistry.server;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The logging of {@code registry serve}, from registry:2's {@code log} keys: the level ({@code
 * warn} or {@code error} silence the access log too), the format, and static fields on every line.
 *
 * <p>{@code text} is one readable line per event. {@code json} is one JSON object per line
 * (logstash-logback-encoder): the timestamp, level, logger, thread and message, the request id of
 * the lines a request's handler writes, the static fields, and the access log's facts as keys of
 * their own. registry:2 also accepts {@code logstash}, its JSON in Logstash's field names: that is
 * what {@code json} writes here, so it is taken as {@code json}, with a warning.
 */
final class Logging {
  private static final Logger log = LoggerFactory.getLogger(Logging.class);

  /** The line of {@code logback.xml}, which the other commands and the first lines still use. */
  private static final String TEXT_PATTERN =
      "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level %logger{20} %X{request:-} %msg";

  /** Field names are written into the text pattern: nothing there may mean anything to it. */
  private static final Pattern FIELD_NAME = Pattern.compile("[A-Za-z0-9_.@-]+");

  /** As in {@code logback.xml}: access lines are written by a background thread, none dropped. */
  private static final int ACCESS_QUEUE = 8192;

  private Logging() {}

  /** {@code log.formatter}'s values. */
  enum Format {
    TEXT,
    JSON
  }

  /**
   * @throws InvalidConfigException for a formatter other than text, json and logstash
   */
  static Format format(String formatter) {
    return switch (formatter.toLowerCase(Locale.ROOT)) {
      case "text" -> Format.TEXT;
      case "json", "logstash" -> Format.JSON;
      default ->
          throw InvalidConfigException.of(
              "log.formatter", "must be text or json, not " + formatter);
    };
  }

  /**
   * Replaces the console output of {@code logback.xml} with {@code settings}'s.
   *
   * @throws InvalidConfigException for an unknown formatter or a field name that is not a word;
   *     then nothing has changed
   */
  static void configure(RegistryConfig.Log settings) {
    Format format = format(settings.formatter());
    for (String name : settings.fields().keySet()) {
      if (!FIELD_NAME.matcher(name).matches()) {
        throw InvalidConfigException.of(
            "log.fields", "a field name is letters, digits, '_', '.', '-' or '@', not " + name);
      }
    }
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return; // another SLF4J backend: its own configuration applies
    }
    Encoder<ILoggingEvent> encoder =
        format == Format.JSON ? json(context, settings.fields()) : text(context, settings.fields());
    var stdout = new ConsoleAppender<ILoggingEvent>();
    stdout.setContext(context);
    stdout.setName("STDOUT");
    stdout.setEncoder(encoder);
    stdout.start();
    var accessWriter = new AsyncAppender();
    accessWriter.setContext(context);
    accessWriter.setName("ACCESS");
    accessWriter.setQueueSize(ACCESS_QUEUE);
    accessWriter.setDiscardingThreshold(0);
    accessWriter.addAppender(stdout);
    accessWriter.start();

    Level level = Level.toLevel(settings.level(), Level.INFO);
    var access = context.getLogger("access");
    access.detachAndStopAllAppenders(); // first: its queue drains into the old console
    access.addAppender(accessWriter);
    access.setAdditive(false);
    access.setLevel(level);
    var root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAndStopAllAppenders();
    root.addAppender(stdout);
    root.setLevel(level);
    if (!settings.formatter().equalsIgnoreCase(format.name())) {
      log.warn(
          "log.formatter {}: written as json, which is Logstash's format here",
          settings.formatter());
    }
  }

  private static Encoder<ILoggingEvent> text(LoggerContext context, Map<String, String> fields) {
    var pattern = new StringBuilder(TEXT_PATTERN);
    for (var field : fields.entrySet()) {
      context.putProperty(field.getKey(), field.getValue());
      pattern.append(' ').append(field.getKey()).append("=%property{").append(field.getKey());
      pattern.append('}');
    }
    var encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(pattern.append("%n").toString());
    encoder.start();
    return encoder;
  }

  private static Encoder<ILoggingEvent> json(LoggerContext context, Map<String, String> fields) {
    var encoder = new LogstashEncoder();
    encoder.setContext(context);
    encoder.setIncludeContext(false); // logback's own properties, not the user's fields
    // Handlers' lines carry the request id under the access log's name for it.
    encoder.addMdcKeyFieldName("request=http.request.id");
    if (!fields.isEmpty()) {
      try {
        encoder.setCustomFields(new ObjectMapper().writeValueAsString(fields));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("a map of strings is JSON", e);
      }
    }
    encoder.start();
    return encoder;
  }
}
