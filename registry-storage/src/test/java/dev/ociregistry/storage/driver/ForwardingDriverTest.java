package dev.ociregistry.storage.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardingDriverTest {

  /**
   * A method the base does not override answers with the interface's default (no redirect, no local
   * file, no lazy write) instead of the driver's own: every decorator would hide it.
   */
  @Test
  void overridesEveryMethodOfTheSpiDefaultOnesIncluded() {
    List<String> notOverridden = new ArrayList<>();
    for (Method method : RecordingDriver.spiMethods()) {
      try {
        ForwardingDriver.class.getDeclaredMethod(method.getName(), method.getParameterTypes());
      } catch (NoSuchMethodException e) {
        notOverridden.add(method.toString());
      }
    }
    assertEquals(List.of(), notOverridden);
  }

  @Test
  void forwardsEveryCallWithItsArgumentsAndAnswer() throws Exception {
    RecordingDriver recording = new RecordingDriver();
    StorageDriver forwarding = new ForwardingDriver(recording.driver) {};
    for (Method method : RecordingDriver.spiMethods()) {
      Object[] arguments = RecordingDriver.arguments(method, "/a/path");
      Object answer = method.invoke(forwarding, arguments);
      assertEquals(1, recording.calls.size(), method.toString());
      RecordingDriver.Call call = recording.calls.remove(0);
      assertEquals(method, call.method());
      assertArrayEquals(arguments, call.arguments().toArray(), method.toString());
      assertSame(RecordingDriver.answer(method), answer, method.toString());
    }
  }
}
