package dev.ociregistry.http.auth;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Captures what the {@code auth} logger writes, while open. */
final class AuthLog implements AutoCloseable {
  private final Logger logger = (Logger) LoggerFactory.getLogger("auth");
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  AuthLog() {
    appender.start();
    logger.addAppender(appender);
  }

  /** The formatted WARN lines so far. */
  List<String> warnings() {
    return appender.list.stream()
        .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
  }
}
