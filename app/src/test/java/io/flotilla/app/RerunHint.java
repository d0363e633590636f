package io.flotilla.app;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/** On a failure, prints the one command that reruns the test class, and where its screenshots are. */
final class RerunHint implements TestWatcher {
  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    String test = context.getRequiredTestClass().getSimpleName();
    System.err.printf("%nFAILED %s.%s; rerun with:%n  ./mvnw -o -B -pl app -am verify -Dtest=%s"
        + " -Dsurefire.failIfNoSpecifiedTests=false%n(screenshots so far: app/target/screenshots/;"
        + " the browser tests need /usr/bin/chromium and /usr/bin/chromedriver)%n",
        test, context.getDisplayName(), test);
  }
}
