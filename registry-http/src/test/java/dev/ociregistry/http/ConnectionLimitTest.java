package dev.ociregistry.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The connection limit on the server channel, fed accepted connections as the acceptor is. */
class ConnectionLimitTest {
  private final AtomicLong clock = new AtomicLong();
  private final ConnectionLimit limit = new ConnectionLimit(2, clock::get);
  private final EmbeddedChannel server = new EmbeddedChannel(limit);
  private final List<EmbeddedChannel> children = new ArrayList<>();
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(ConnectionLimit.class);
  private Level level;

  @BeforeEach
  void listen() {
    appender.start();
    level = logger.getLevel();
    logger.setLevel(Level.WARN);
    logger.addAppender(appender);
  }

  @AfterEach
  void close() {
    logger.detachAppender(appender);
    logger.setLevel(level);
    children.forEach(EmbeddedChannel::finishAndReleaseAll);
    server.finishAndReleaseAll();
  }

  /** A connection accepted: passed on to the acceptor (read inbound here), or closed. */
  private EmbeddedChannel accept() {
    var child = new EmbeddedChannel();
    children.add(child);
    server.writeInbound(child);
    return child;
  }

  @Test
  void connectionsOverTheLimitAreClosedAtOnceAndTheOthersKeepWorking() {
    var first = accept();
    var second = accept();
    assertEquals(first, server.readInbound());
    assertEquals(second, server.readInbound());
    var third = accept();
    assertFalse(third.isOpen());
    assertEquals(null, server.<Object>readInbound());
    assertTrue(first.isOpen() && second.isOpen());
    assertEquals(2, limit.open());
    assertEquals(1, limit.refused());

    first.close(); // a place is free again
    assertEquals(1, limit.open());
    var fourth = accept();
    assertTrue(fourth.isOpen());
    assertEquals(fourth, server.readInbound());
    assertEquals(2, limit.open());
  }

  @Test
  void refusalsAreLoggedAtMostOnceASecond() {
    accept();
    accept();
    for (int i = 0; i < 1000; i++) {
      accept();
    }
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
    accept();
    assertEquals(1, appender.list.size());
    assertTrue(appender.list.get(0).getFormattedMessage().contains(" 1 connections refused"));
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
    accept();
    assertEquals(2, appender.list.size());
    assertTrue(
        appender.list.get(1).getFormattedMessage().contains(" 1001 connections refused"),
        appender.list.get(1).getFormattedMessage());
    assertEquals(1002, limit.refused());
  }
}
